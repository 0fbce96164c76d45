/**
 * The answers a hub gives instead of a subscription, written once: 400 for a bad query, 404 for an
 * unknown topic, 405 for a method other than GET, 503 when the hub is closed or full.
 *
 * @module
 */

import { textResponse } from "../_internal/http.ts";

/** 503: the hub is draining: come back soon, to another instance. */
export function drainingResponse(): Response {
  return textResponse(503, "The event hub is shutting down", { "Retry-After": "1" });
}

/** 503: the hub is closed (a client should come back later, to another instance). */
export function closedResponse(): Response {
  return textResponse(503, "The event hub is closed");
}

/** 404: a topic that does not exist, with `autoCreate: false`. */
export function unknownTopicResponse(topic: string): Response {
  return textResponse(404, `Unknown topic ${JSON.stringify(topic.slice(0, 64))}`);
}

/** 400: more topics in the query than a subscription may name. */
export function tooManyTopicsResponse(max: number): Response {
  return textResponse(400, `Too many topics: at most ${max} are accepted`);
}

/** 400: topics spanning more groups of the backplane than one compound id may name. */
export function tooManyGroupsResponse(max: number): Response {
  return textResponse(400, `Too many topic groups: a subscription may span at most ${max} groups of the backplane`);
}

/** 400: a query topic that is empty or too long. */
export function invalidTopicResponse(topic: string, maxLength: number): Response {
  return textResponse(400, `Invalid topic ${JSON.stringify(topic.slice(0, 64))}: it must have 1 to ${maxLength} bytes`);
}

/** 405: only GET subscribes. */
export function methodNotAllowedResponse(method: string): Response {
  return textResponse(405, `Method ${JSON.stringify(method.slice(0, 32))} not allowed: subscribe with GET`, { Allow: "GET" });
}

/** 503: a subscription would create a topic past `maxTopics`. */
export function tooManyLiveTopicsResponse(max: number): Response {
  return textResponse(503, `Too many topics: this hub serves at most ${max}`, { "Retry-After": "5" });
}
