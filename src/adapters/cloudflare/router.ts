/**
 * The Worker side of the Durable Object hub: {@linkcode hubRouter} forwards subscriptions to the
 * object that serves their topic, {@linkcode publishTo} publishes to it.
 *
 * @module
 */

import { utf8Length } from "../../_internal/bytes.ts";
import { describe } from "../../_internal/describe.ts";
import { textResponse } from "../../_internal/http.ts";
import { isPromiseLike } from "../../_internal/log.ts";
import { serializeData } from "../../core/encoder.ts";
import { type SSEEvent, validateEvent } from "../../core/event.ts";
import { checkTopic } from "../../hub/_topic-store.ts";
import type { DurableObjectNamespaceLike } from "./types.ts";

/**
 * Options for {@linkcode hubRouter}: which object serves a request, and which subscriptions may
 * reach one. With the default, one object per topic, an allow-list (`topics`) or an
 * `onSubscribe` check is required: otherwise any query would create an object.
 *
 * @example An allow-list
 * ```ts
 * import type { HubRouterOptions } from "@hertz/sse/cloudflare";
 *
 * const options: HubRouterOptions = { topics: ["news", "sport"] };
 * ```
 *
 * @example All topics in one object, each subscription authorised
 * ```ts
 * import type { HubRouterOptions } from "@hertz/sse/cloudflare";
 *
 * const options: HubRouterOptions = {
 *   objectName: () => "chat",
 *   onSubscribe: (request, topics) => {
 *     const user = request.headers.get("x-user"); // set by your authentication
 *     if (topics.some((topic) => topic !== "room" && topic !== `user:${user}`)) return new Response("Forbidden", { status: 403 });
 *   },
 * };
 * ```
 */
export interface HubRouterOptions {
  /**
   * The name of the object that serves the request, or a `Response` to answer instead. Every
   * request for a topic must reach the same object: the one its events are published to.
   *
   * @default {the request's `topic` query parameter, or "default" without one; a subscription to several topics gets a 400}
   */
  objectName?: (request: Request) => string | Response;
  /**
   * The topics a subscription may name: a list, or a function that tells. A request naming any
   * other topic gets a 404 and reaches no object.
   *
   * @default {every topic, if `onSubscribe` is given or `objectName` is; required otherwise}
   */
  topics?: readonly string[] | ((topic: string) => boolean);
  /**
   * Authorises a subscription before any object is reached: return (or resolve with) a
   * `Response` to answer instead (a 401 or 403), or nothing to let it through. What it throws
   * (or rejects with) rejects the handler's promise.
   *
   * @default {no check}
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a check that returns nothing lets the request through
  onSubscribe?: (request: Request, topics: readonly string[]) => Response | void | Promise<Response | void>;
  /**
   * The longest topic name accepted, in UTF-8 bytes; a request naming a longer one gets a 400.
   * Keep it equal to the objects' `replay.maxTopicBytes`.
   *
   * @default {256}
   */
  maxTopicBytes?: number;
}

const DEFAULT_MAX_TOPIC_BYTES = 256;

function checkNamespace(namespace: unknown, what: string): asserts namespace is DurableObjectNamespaceLike {
  const candidate = namespace as DurableObjectNamespaceLike | null;
  if (
    candidate === null ||
    typeof candidate !== "object" ||
    typeof candidate.idFromName !== "function" ||
    typeof candidate.get !== "function"
  ) {
    throw new TypeError(`${what}: "namespace" must be a Durable Object namespace binding, got ${describe(namespace)}`);
  }
}

/** One object per topic: the one named by the query, "default" without one. */
function objectPerTopic(request: Request): string | Response {
  const topics = request.url.includes("?") ? new URL(request.url).searchParams.getAll("topic") : [];
  if (topics.length === 0) return "default";
  if (topics.length > 1) {
    return textResponse(400, "Too many topics: each topic has its own hub, so a subscription names one");
  }
  return topics[0]!;
}

/** The 400 or 404 that refuses a subscription's topics, or `undefined` when they may pass. */
function refuseTopics(topics: readonly string[], allowed: (topic: string) => boolean, maxBytes: number): Response | undefined {
  for (const topic of topics) {
    if (topic === "") return textResponse(400, 'Invalid topic "": it must not be empty');
    const bytes = utf8Length(topic);
    if (bytes > maxBytes) return textResponse(400, `Invalid topic: it must be at most ${maxBytes} bytes, got ${bytes}`);
    if (!allowed(topic)) return textResponse(404, `Unknown topic ${JSON.stringify(topic)}`);
  }
  return undefined;
}

/**
 * Returns a fetch handler that forwards each subscription (a `GET`), unchanged, to the Durable
 * Object that serves it: by default the one named after the request's `topic` query parameter
 * (one object per topic), or the one `options.objectName` picks. The topics are checked first
 * (`topics`, `maxTopicBytes`, then `onSubscribe`), so a refused request creates no object. Other
 * methods get a 405: publish from the Worker with {@linkcode publishTo}, after authorising the
 * publisher. Disconnects reach the object: the runtime cancels the forwarded body.
 *
 * @example One object per allowed topic
 * ```ts
 * import { type DurableObjectNamespaceLike, hubRouter, SSEHubObject } from "@hertz/sse/cloudflare";
 *
 * export class Hub extends SSEHubObject {}
 *
 * const worker = {
 *   fetch(request: Request, env: { HUB: DurableObjectNamespaceLike }): Promise<Response> {
 *     return hubRouter(env.HUB, { topics: ["news", "sport"] })(request); // GET /?topic=news
 *   },
 * };
 * export default worker;
 * ```
 *
 * @example A refused topic reaches no object
 * ```ts
 * import { hubRouter } from "@hertz/sse/cloudflare";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const named: string[] = [];
 * const namespace = {
 *   idFromName: (name: string) => named.push(name),
 *   get: () => ({ fetch: () => Promise.resolve(new Response("the stream")) }),
 * };
 * const route = hubRouter(namespace, { topics: ["news"] });
 * assertEquals((await route(new Request("https://example.com/?topic=secrets"))).status, 404);
 * assertEquals(await (await route(new Request("https://example.com/?topic=news"))).text(), "the stream");
 * assertEquals(named, ["news"]);
 * ```
 */
export function hubRouter(
  namespace: DurableObjectNamespaceLike,
  options: HubRouterOptions = {},
): (request: Request) => Promise<Response> {
  const what = "Cannot create the hub router";
  checkNamespace(namespace, what);
  const { objectName = objectPerTopic, topics, onSubscribe, maxTopicBytes = DEFAULT_MAX_TOPIC_BYTES } = options;
  if (typeof objectName !== "function") {
    throw new TypeError(`${what}: "objectName" must be a function, got ${describe(objectName)}`);
  }
  if (topics !== undefined && typeof topics !== "function" && !Array.isArray(topics)) {
    throw new TypeError(`${what}: "topics" must be an array or a function, got ${describe(topics)}`);
  }
  if (onSubscribe !== undefined && typeof onSubscribe !== "function") {
    throw new TypeError(`${what}: "onSubscribe" must be a function, got ${describe(onSubscribe)}`);
  }
  if (!Number.isSafeInteger(maxTopicBytes) || maxTopicBytes <= 0) {
    throw new RangeError(`${what}: "maxTopicBytes" must be a positive integer, got ${describe(maxTopicBytes)}`);
  }
  if (objectName === objectPerTopic && topics === undefined && onSubscribe === undefined) {
    throw new TypeError(
      `${what}: one object per topic needs an allow-list ("topics") or an "onSubscribe" check, or any query would create an object`,
    );
  }
  const list = Array.isArray(topics) ? new Set<string>(topics) : undefined;
  const allowed =
    list !== undefined
      ? (topic: string) => list.has(topic)
      : ((topics as ((topic: string) => boolean) | undefined) ?? (() => true));

  const forward = (request: Request): Promise<Response> => {
    const name = objectName(request);
    if (name instanceof Response) return Promise.resolve(name);
    if (typeof name !== "string" || name === "") {
      throw new TypeError(
        `Cannot route the request: "objectName" must return a non-empty string or a Response, got ${describe(name)}`,
      );
    }
    return namespace.get(namespace.idFromName(name)).fetch(request);
  };

  return (request) => {
    try {
      if (request.method !== "GET") {
        return Promise.resolve(
          textResponse(405, `Method ${request.method} is not allowed: GET subscribes; publish with publishTo`, { Allow: "GET" }),
        );
      }
      const names = request.url.includes("?") ? new URL(request.url).searchParams.getAll("topic") : [];
      const refusal = refuseTopics(names, allowed, maxTopicBytes);
      if (refusal !== undefined) return Promise.resolve(refusal);
      if (onSubscribe === undefined) return forward(request);
      const verdict = onSubscribe(request, names);
      if (!isPromiseLike(verdict)) return verdict instanceof Response ? Promise.resolve(verdict) : forward(request);
      return Promise.resolve(verdict).then((answer) => (answer instanceof Response ? answer : forward(request)));
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

/**
 * Options for {@linkcode publishTo}.
 *
 * @example Usage
 * ```ts
 * import type { PublishToOptions } from "@hertz/sse/cloudflare";
 *
 * const options: PublishToOptions = { objectName: "chat" };
 * ```
 */
export interface PublishToOptions {
  /**
   * The name of the object that hosts the topic: the name {@linkcode hubRouter} routes its
   * subscribers to.
   *
   * @default {the topic}
   */
  objectName?: string;
  /**
   * The longest topic name accepted, in UTF-8 bytes; a longer one is refused with a
   * `RangeError` before any object is reached. Keep it equal to the object's
   * `replay.maxTopicBytes`.
   *
   * @default {256}
   */
  maxTopicBytes?: number;
}

/**
 * Publishes an event to a topic of a hub object ({@linkcode SSEHubObject}) from anywhere in the
 * Worker, and resolves with its id once the object has stored and delivered it. The event is
 * validated here first (`TypeError`, `RangeError`); data that is not a string is serialised here
 * with `JSON.stringify` (a `SyntaxError` if it cannot be), exactly as {@linkcode SSEHub.publish}
 * does by default. Rejects with a `TypeError` when the object refuses the event (a 4xx, with its
 * reason) and an `Error` when it fails.
 *
 * @example Usage
 * ```ts
 * import { type DurableObjectNamespaceLike, publishTo } from "@hertz/sse/cloudflare";
 *
 * async function announce(env: { HUB: DurableObjectNamespaceLike }): Promise<string> {
 *   // Reaches the subscribers routed by hubRouter(env.HUB, { topics: ["news"] }) with ?topic=news.
 *   return await publishTo(env.HUB, "news", { event: "headline", data: { title: "SSE on Workers" } });
 * }
 * ```
 *
 * @example A user's topic in a shared object
 * ```ts
 * import { type DurableObjectNamespaceLike, publishTo } from "@hertz/sse/cloudflare";
 *
 * async function notify(env: { HUB: DurableObjectNamespaceLike }, user: string, text: string): Promise<void> {
 *   await publishTo(env.HUB, `user:${user}`, { event: "direct", data: text }, { objectName: "chat" });
 * }
 * ```
 */
export async function publishTo(
  namespace: DurableObjectNamespaceLike,
  topic: string,
  event: SSEEvent,
  options: PublishToOptions = {},
): Promise<string> {
  checkNamespace(namespace, "Cannot publish");
  checkTopic(topic, "Cannot publish", options.maxTopicBytes ?? DEFAULT_MAX_TOPIC_BYTES);
  const name = options.objectName ?? topic;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`Cannot publish: "objectName" must be a non-empty string, got ${describe(name)}`);
  }
  validateEvent(event);
  const data = event.data === undefined ? undefined : serializeData(event.data);
  const body = JSON.stringify({ event: event.event, data, id: event.id, retry: event.retry, comment: event.comment });
  // The host is never resolved: a stub delivers the request to its object.
  const request = new Request(`https://hub.invalid/?topic=${encodeURIComponent(topic)}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  });
  const response = await namespace.get(namespace.idFromName(name)).fetch(request);
  if (response.ok) {
    const answer = (await response.json()) as { id?: unknown };
    if (typeof answer?.id !== "string") {
      throw new Error(`Cannot publish: the hub object answered without an id, got ${describe(answer?.id)}`);
    }
    return answer.id;
  }
  const reason = (await response.text()).trim();
  const message = `Cannot publish: the hub object answered ${response.status}: ${reason}`;
  throw response.status >= 400 && response.status < 500 ? new TypeError(message) : new Error(message);
}
