/**
 * Which topics a subscription asks for: the options' topics, else the request's query, else the
 * default topic; or the 400 that refuses a bad query.
 *
 * @module
 */

import { describe } from "../_internal/describe.ts";
import { checkTopic, topicFits } from "./_checks.ts";
import { invalidTopicResponse, tooManyTopicsResponse } from "./_responses.ts";

const MAX_QUERY_TOPICS = 32;

/** The subscription's topics, de-duplicated, or the 400 response that refuses them. */
export function topicsOf(
  request: Request,
  given: string | readonly string[] | undefined,
  topicParam: string | false,
  defaultTopics: readonly string[],
  maxLength: number,
): readonly string[] | Response {
  if (given !== undefined) {
    const list = typeof given === "string" ? [given] : given;
    if (!Array.isArray(list) || list.length === 0) {
      throw new TypeError(`Cannot subscribe: "topics" must be a topic or a non-empty array of topics, got ${describe(given)}`);
    }
    for (const topic of list) checkTopic(topic, "Cannot subscribe", "topics");
    return list.length === 1 ? [list[0]] : [...new Set(list)];
  }
  if (topicParam === false || !request.url.includes("?")) return defaultTopics;
  const values = new URL(request.url).searchParams.getAll(topicParam);
  if (values.length > MAX_QUERY_TOPICS) return tooManyTopicsResponse(MAX_QUERY_TOPICS);
  for (const value of values) {
    if (value === "" || !topicFits(value, maxLength)) return invalidTopicResponse(value, maxLength);
  }
  return values.length === 0 ? defaultTopics : values.length === 1 ? values : [...new Set(values)];
}
