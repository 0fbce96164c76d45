/**
 * A Durable Object per resumable stream: {@linkcode ResumableStreamObject}.
 *
 * @module
 */

import { describe } from "../../_internal/describe.ts";
import { textResponse } from "../../_internal/http.ts";
import { logError } from "../../_internal/log.ts";
import type { ResumableSource } from "../../resumable/_source.ts";
import { ResumableStreams, type ResumableStreamsOptions } from "../../resumable/resumable-streams.ts";
import { DurableObjectBackplane, type DurableObjectBackplaneOptions } from "./backplane.ts";
import type { DurableObjectStateLike } from "./types.ts";

/**
 * Options for {@linkcode ResumableStreamObject}.
 *
 * @example Usage
 * ```ts
 * import type { ResumableStreamObjectOptions } from "@hertz/sse/cloudflare";
 *
 * const options: ResumableStreamObjectOptions = { streams: { retention: 60_000, heartbeat: 2_000 }, aliveEvery: 20_000 };
 * ```
 */
export interface ResumableStreamObjectOptions {
  /**
   * The stream's options (see `ResumableStreams`), except its backplane, which is the object's
   * storage, and `waitUntil`, which is the object's.
   *
   * @default {{}}
   */
  streams?: Omit<ResumableStreamsOptions, "backplane" | "prefix" | "waitUntil">;
  /**
   * The storage prefix and error handler of the object's {@linkcode DurableObjectBackplane}; its
   * bounds follow from `streams` (every frame of a generation, kept for its `retention`).
   *
   * @default {{}}
   */
  storage?: Pick<DurableObjectBackplaneOptions, "prefix" | "onError">;
  /**
   * Milliseconds between the alarms that keep the object alive while its producer runs, so that
   * the runtime does not evict an object whose only work is a generation nobody is reading.
   *
   * @default {30000}
   */
  aliveEvery?: number;
}

// The object hosts one stream: its name is the object's.
const STREAM = "stream";

/**
 * A Durable Object that runs one resumable stream (say, one chat's model output): the producer
 * runs inside the object, kept alive by `waitUntil` and alarms while no client is connected, and
 * its frames are stored in the object's storage, so a client resumes exactly from its
 * `Last-Event-ID` even after the object was evicted. Its `fetch` serves `POST` (start a
 * generation with the source {@linkcode ResumableStreamObject.produce} makes from the request, and
 * answer with its stream; 409 while one runs), `GET` (resume, or 204 when there is nothing to
 * resume) and `DELETE` (stop, answering `{"stopped":true|false}`). Route each stream's requests
 * to the object named after it; docs/cloudflare.md has the details.
 *
 * @example One object per chat
 * ```ts
 * import { type DurableObjectNamespaceLike, ResumableStreamObject } from "@hertz/sse/cloudflare";
 *
 * interface Env {
 *   CHATS: DurableObjectNamespaceLike;
 *   UPSTREAM: string;
 * }
 *
 * export class Chat extends ResumableStreamObject<Env> {
 *   override async produce(request: Request) {
 *     const body = await request.text();
 *     // The stream's signal cancels the upstream request on stop().
 *     return (signal: AbortSignal) => fetch(this.env.UPSTREAM, { method: "POST", body, signal });
 *   }
 * }
 *
 * const worker = {
 *   fetch(request: Request, env: Env): Promise<Response> {
 *     const id = new URL(request.url).searchParams.get("chat") ?? "";
 *     if (!/^[\w-]{1,64}$/.test(id)) return Promise.resolve(new Response("Bad chat id", { status: 400 }));
 *     // POST starts, GET resumes, DELETE stops: the object serves all three.
 *     return env.CHATS.get(env.CHATS.idFromName(id)).fetch(request);
 *   },
 * };
 * export default worker;
 * ```
 */
export class ResumableStreamObject<Env = unknown> {
  /** The object's state, as the runtime passed it. */
  readonly state: DurableObjectStateLike;
  /** The Worker's bindings, as the runtime passed them. */
  readonly env: Env;
  /** Where the stream's frames live: the object's storage. */
  readonly backplane: DurableObjectBackplane;
  /** The stream's host; the object's stream is named `"stream"` in it. */
  readonly streams: ResumableStreams;
  readonly #aliveEvery: number;
  readonly #onError: (error: unknown) => void;
  #producing = 0;

  /** Called by the runtime with the object's state and the Worker's bindings. */
  constructor(state: DurableObjectStateLike, env: Env, options: ResumableStreamObjectOptions = {}) {
    const aliveEvery = options.aliveEvery ?? 30_000;
    if (typeof aliveEvery !== "number" || !(aliveEvery > 0)) {
      throw new RangeError(
        `Cannot create ResumableStreamObject: "aliveEvery" must be a positive number, got ${describe(aliveEvery)}`,
      );
    }
    this.state = state;
    this.env = env;
    this.#aliveEvery = aliveEvery;
    const streams = options.streams ?? {};
    this.#onError =
      options.storage?.onError ?? streams.onError ?? ((error: unknown) => logError("resumable stream object", error));
    const heartbeat = streams.heartbeat ?? 5_000;
    const retention = streams.retention ?? 600_000;
    this.backplane = new DurableObjectBackplane(state, {
      // What ResumableStreams sizes its own default backplane for: every frame, a heartbeat per
      // `heartbeat` for an hour and the end; kept an hour past the retention.
      maxEvents: (streams.maxFrames ?? 10_000) + Math.ceil(3_600_000 / heartbeat) + 2,
      maxAge: retention + 3_600_000,
      ...options.storage,
      onError: this.#onError,
    });
    this.streams = new ResumableStreams({ ...streams, backplane: this.backplane, waitUntil: (work) => this.#keep(work) });
  }

  /**
   * Makes the source of a new generation from the `POST` request that starts it: an upstream
   * event-stream `Response`, a stream or iterable of events, or a function of the stream's
   * `signal` returning one (see `ResumableStreams.start`). Override it; the default throws. A
   * `TypeError`, `RangeError` or `SyntaxError` it throws (a request it refuses) becomes a 400 with
   * its message.
   */
  produce(request: Request): ResumableSource | Promise<ResumableSource> {
    throw new Error(
      `Cannot start a stream: ${this.constructor.name} does not override produce() (got ${request.method} ${request.url})`,
    );
  }

  /** Serves the stream: `POST` starts it, `GET` resumes it, `DELETE` stops it; anything else gets a 405. */
  async fetch(request: Request): Promise<Response> {
    if (request.method === "GET") return this.streams.subscribe(request, STREAM);
    if (request.method === "DELETE") return Response.json({ stopped: await this.streams.stop(STREAM, "stopped") });
    if (request.method !== "POST") {
      return textResponse(405, `Method ${request.method} is not allowed: POST starts, GET resumes, DELETE stops`, {
        Allow: "GET, POST, DELETE",
      });
    }
    if ((await this.streams.status(STREAM)) === "active")
      return textResponse(409, "Cannot start the stream: a generation is running");
    let source: ResumableSource;
    try {
      source = await this.produce(request);
    } catch (error) {
      if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) {
        return textResponse(400, error.message);
      }
      throw error;
    }
    try {
      await this.streams.start(STREAM, source);
    } catch (error) {
      if (error instanceof TypeError && /already active/.test(error.message)) {
        return textResponse(409, "Cannot start the stream: a generation is running");
      }
      throw error;
    }
    // This response is one reader among others: its disconnect does not stop the generation.
    return this.streams.subscribe(request, STREAM, { lastEventId: "" });
  }

  /**
   * The object's alarm handler: keeps the object alive while a generation runs, and deletes the
   * stored frames once they have expired (see {@linkcode DurableObjectBackplane.alarm}). A
   * subclass that uses the alarm for its own work calls `super.alarm()` from its override.
   */
  async alarm(): Promise<void> {
    await this.backplane.alarm();
    if (this.#producing > 0) this.#arm();
  }

  /** A generation's producer is running: keep the object alive until it has finished. */
  #keep(work: Promise<unknown>): void {
    this.state.waitUntil?.(work);
    this.#producing++;
    this.#arm();
    const done = (): void => {
      this.#producing--;
    };
    work.then(done, done);
  }

  /** Sets the next keep-alive alarm (replacing the backplane's idle alarm, which the handler sets again). */
  #arm(): void {
    const storage = this.state.storage;
    if (typeof storage.setAlarm !== "function") return;
    try {
      storage.setAlarm(Date.now() + this.#aliveEvery).catch(this.#onError);
    } catch (error) {
      this.#onError(error);
    }
  }
}
