/**
 * The Durable Object that is an event hub: {@linkcode SSEHubObject}.
 *
 * @module
 */

import { concatChunks, utf8Length } from "../../_internal/bytes.ts";
import { describe } from "../../_internal/describe.ts";
import { textResponse } from "../../_internal/http.ts";
import type { SSEEvent } from "../../core/event.ts";
import { SSEHub, type SSEHubOptions } from "../../hub/hub.ts";
import { DurableObjectBackplane, type DurableObjectBackplaneOptions } from "./backplane.ts";
import type { DurableObjectStateLike } from "./types.ts";

/**
 * Options for {@linkcode SSEHubObject}: the hub's and the replay log's.
 *
 * @example Usage
 * ```ts
 * import { type DurableObjectStateLike, SSEHubObject, type SSEHubObjectOptions } from "@hertz/sse/cloudflare";
 *
 * const options: SSEHubObjectOptions = {
 *   hub: { keepAlive: 20_000, retry: 3_000 },
 *   replay: { maxEvents: 200, maxAge: 60_000 },
 * };
 *
 * export class Hub extends SSEHubObject {
 *   constructor(state: DurableObjectStateLike, env: unknown) {
 *     super(state, env, options);
 *   }
 * }
 * ```
 */
export interface SSEHubObjectOptions {
  /**
   * The hub's options. Its backplane is the object's {@linkcode DurableObjectBackplane}
   * (configured with `replay`), and topics are named by the `topic` query parameter, as
   * {@linkcode hubRouter} and {@linkcode publishTo} expect.
   *
   * @default {{}}
   */
  hub?: Omit<SSEHubOptions, "backplane" | "replay" | "topicParam">;
  /**
   * The replay log: its bounds (`maxEvents`, `maxAge`, `maxTopicBytes`, also applied to the
   * topics of a subscription), storage prefix and `onError` (by default the hub's).
   *
   * @default {{}}
   */
  replay?: DurableObjectBackplaneOptions;
  /**
   * The largest publish body accepted, in bytes; a larger one gets a 413. The default is the
   * largest value the key-value storage backend accepts, which bounds an event anyway.
   *
   * @default {131072}
   */
  maxPublishBytes?: number;
}

const DEFAULT_MAX_PUBLISH_BYTES = 128 * 1024;
// The backplane's default, so that a query is refused with a 400 before it reaches the backplane.
const DEFAULT_MAX_TOPIC_BYTES = 256;

/** The body as text, or the 413 that refuses it; reads at most `max` bytes. */
async function readBody(request: Request, max: number): Promise<string | Response> {
  const tooLarge = (): Response => textResponse(413, `Cannot publish: the body is larger than ${max} bytes`);
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > max) return tooLarge();
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      reader.cancel().catch(() => {});
      return tooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(concatChunks(chunks));
}

/**
 * A Durable Object that is an event hub: it hosts an {@linkcode SSEHub} whose replay log lives in
 * the object's storage ({@linkcode DurableObjectBackplane}), so an event published by one request
 * reaches the streams of all the others, and replay survives the object's eviction. Its `fetch`
 * serves `GET ?topic=…` (subscribe) and `POST ?topic=…` with a JSON event (publish, answering
 * `{"id":"…"}`), which {@linkcode hubRouter} and {@linkcode publishTo} speak; its `alarm`
 * deletes the stored log once every event has expired. Customise it with options from a
 * subclass's constructor, or override `fetch` (use `this.hub`, and `super.fetch(request)`). The
 * protocol and the `wrangler.jsonc` binding are described in docs/cloudflare.md.
 *
 * @example A hub object with its own topics and an admin route
 * ```ts
 * import { type DurableObjectStateLike, SSEHubObject } from "@hertz/sse/cloudflare";
 *
 * interface Env {
 *   ADMIN_TOKEN: string;
 * }
 *
 * export class Hub extends SSEHubObject<Env> {
 *   constructor(state: DurableObjectStateLike, env: Env) {
 *     super(state, env, { hub: { autoCreate: false, topics: ["news", "sport"] }, replay: { maxEvents: 500 } });
 *   }
 *
 *   override fetch(request: Request): Promise<Response> {
 *     if (new URL(request.url).pathname === "/stats") {
 *       return Promise.resolve(Response.json({ subscribers: this.hub.size }));
 *     }
 *     if (request.method === "POST" && request.headers.get("authorization") !== `Bearer ${this.env.ADMIN_TOKEN}`) {
 *       return Promise.resolve(new Response("Unauthorized", { status: 401 }));
 *     }
 *     return super.fetch(request);
 *   }
 * }
 * ```
 */
export class SSEHubObject<Env = unknown> {
  /** The object's state, as the runtime passed it. */
  readonly state: DurableObjectStateLike;
  /** The Worker's bindings, as the runtime passed them. */
  readonly env: Env;
  /** The hub's backplane: the replay log in the object's storage. */
  readonly backplane: DurableObjectBackplane;
  /** The hub every request of the object shares. */
  readonly hub: SSEHub;
  readonly #maxPublishBytes: number;
  readonly #maxTopicBytes: number;

  /** Called by the runtime with the object's state and the Worker's bindings. */
  constructor(state: DurableObjectStateLike, env: Env, options: SSEHubObjectOptions = {}) {
    const maxPublishBytes = options.maxPublishBytes ?? DEFAULT_MAX_PUBLISH_BYTES;
    if (!Number.isSafeInteger(maxPublishBytes) || maxPublishBytes <= 0) {
      throw new RangeError(
        `Cannot create SSEHubObject: "maxPublishBytes" must be a positive integer, got ${describe(maxPublishBytes)}`,
      );
    }
    this.state = state;
    this.env = env;
    this.#maxPublishBytes = maxPublishBytes;
    this.#maxTopicBytes = options.replay?.maxTopicBytes ?? DEFAULT_MAX_TOPIC_BYTES;
    // The hub's error handler serves the backplane too, unless the replay options name their own.
    this.backplane = new DurableObjectBackplane(state, { onError: options.hub?.onError, ...options.replay });
    this.hub = new SSEHub({ ...options.hub, backplane: this.backplane, topicParam: "topic" });
  }

  /** Serves the object's protocol: `GET` subscribes, `POST` publishes, anything else gets a 405. */
  fetch(request: Request): Promise<Response> {
    if (request.method === "GET") {
      try {
        const long = request.url.includes("?")
          ? new URL(request.url).searchParams.getAll("topic").find((topic) => utf8Length(topic) > this.#maxTopicBytes)
          : undefined;
        if (long !== undefined) {
          return Promise.resolve(
            textResponse(400, `Invalid topic: it must be at most ${this.#maxTopicBytes} bytes, got ${utf8Length(long)}`),
          );
        }
        return Promise.resolve(this.hub.subscribe(request));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (request.method === "POST") return this.#publish(request);
    const refusal = textResponse(405, `Method ${request.method} is not allowed: GET subscribes, POST publishes`, {
      Allow: "GET, POST",
    });
    return Promise.resolve(refusal);
  }

  /**
   * The object's alarm handler: deletes the stored replay log once every event has expired (see
   * {@linkcode DurableObjectBackplane.alarm}). A subclass that uses the alarm for its own work
   * calls `super.alarm()` from its override.
   */
  alarm(): Promise<void> {
    return this.backplane.alarm();
  }

  async #publish(request: Request): Promise<Response> {
    const topics = new URL(request.url).searchParams.getAll("topic");
    if (topics.length > 1) return textResponse(400, "Cannot publish: name one topic, got several");
    const body = await readBody(request, this.#maxPublishBytes);
    if (body instanceof Response) return body;
    let event: unknown;
    try {
      event = JSON.parse(body);
    } catch (error) {
      return textResponse(400, `Cannot publish: the body must be a JSON event object: ${(error as Error).message}`);
    }
    if (event === null || typeof event !== "object" || Array.isArray(event)) {
      return textResponse(400, `Cannot publish: the body must be a JSON event object, got ${describe(event)}`);
    }
    let id: string;
    try {
      id = await this.hub.publish(event as SSEEvent, { topic: topics[0] });
    } catch (error) {
      // An invalid event; anything else (a failed storage write) is the runtime's to report.
      if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) {
        return textResponse(400, error.message);
      }
      throw error;
    }
    return Response.json({ id });
  }
}
