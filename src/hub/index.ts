/**
 * `hertz-sse/hub`: a broadcast hub with topics, encode-once fan-out, bounded replay from
 * `Last-Event-ID` with an explicit reset event, a slow-consumer policy and one shared keep-alive
 * timer, on a pluggable {@linkcode Backplane} (in memory by default).
 *
 * @example Usage
 * ```ts
 * import { SSEHub } from "@hertz/sse/hub";
 *
 * // The topic comes from the query (GET /?topic=clock): allow only the public one.
 * const hub = new SSEHub({
 *   onSubscribe: (_request, topics) =>
 *     topics.every((topic) => topic === "clock") ? undefined : new Response("Forbidden", { status: 403 }),
 * });
 * setInterval(() => hub.publish({ event: "time", data: new Date().toISOString() }, { topic: "clock" }), 1000);
 *
 * export default {
 *   fetch: (request: Request) => hub.subscribe(request),
 * };
 * ```
 *
 * @module
 */

export type { DrainOptions } from "../core/_drain.ts";
export type {
  Backplane,
  BackplaneEntry,
  BackplaneEvent,
  BackplaneHistory,
  BackplaneListener,
  BackplaneSubscription,
} from "./backplane.ts";
export {
  type CloseOptions,
  type HubSubscribeOptions,
  type PublishOptions,
  type SlowConsumerPolicy,
  SSEHub,
  type SSEHubOptions,
  type SubscribeOptions,
} from "./hub.ts";
export { MemoryBackplane, type MemoryBackplaneOptions } from "./memory-backplane.ts";
