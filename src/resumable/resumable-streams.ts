/**
 * `ResumableStreams`: model output (or any event stream) produced independently of the connections
 * that read it, kept on a backplane, resumable from any instance and stoppable from any instance.
 *
 * @module
 */

import { describe } from "../_internal/describe.ts";
import { logError, report } from "../_internal/log.ts";
import { getLastEventId } from "../core/last-event-id.ts";
import { _record, type SSEMetrics } from "../core/metrics.ts";
import type { Backplane, BackplaneEntry } from "../hub/backplane.ts";
import { MemoryBackplane } from "../hub/memory-backplane.ts";
import { endEvent, kindOf, type StreamStatus, type StreamTopics, topicsOf } from "./_entries.ts";
import { follow } from "./_follow.ts";
import { resumableMetrics } from "./_metrics.ts";
import { type Producer, startProducer } from "./_producer.ts";
import { type ResumableSource, toBackplaneFrame } from "./_source.ts";
import { readState, statusAt } from "./_state.ts";
import { DEFAULT_TERMINAL_FRAMES, type TerminalFrames } from "./terminal-frames.ts";

export type { StreamStatus } from "./_entries.ts";

/**
 * Options for {@linkcode ResumableStreams}.
 *
 * @example Usage
 * ```ts
 * import { ResumableStreams, type ResumableStreamsOptions } from "@hertz/sse/resumable";
 *
 * const options: ResumableStreamsOptions = { retention: 60_000, heartbeat: 2_000 };
 * const streams = new ResumableStreams(options);
 * ```
 */
export interface ResumableStreamsOptions {
  /**
   * Where frames and every piece of a stream's state live. Instances that share a backplane (a
   * `RedisBackplane` with the same prefix) share streams. Its bounds must hold a whole stream:
   * `maxEvents` at least `maxFrames` plus one heartbeat per `heartbeat` of generation, `maxAge`
   * at least the longest generation plus `retention`.
   *
   * @default {a MemoryBackplane sized for maxFrames, with maxAge = retention + 1 hour}
   */
  backplane?: Backplane;
  /**
   * The prefix of the backplane topics of every stream (`<prefix><id>` and `<prefix><id>:head`).
   *
   * @default {"resumable:"}
   */
  prefix?: string;
  /**
   * How long, in milliseconds, a stream that has ended can still be resumed with a
   * `Last-Event-ID` and reports its `status`; afterwards it is unknown (204, `undefined`).
   *
   * @default {600000}
   */
  retention?: number;
  /**
   * Milliseconds between the producer's heartbeats. A stream whose producer stops sending them
   * (its process died) is declared failed within three heartbeats by whoever watches it.
   *
   * @default {5000}
   */
  heartbeat?: number;
  /**
   * Milliseconds between keep-alive comments on quiet responses; `false` turns them off. Every
   * response also starts with a comment, before the first frame.
   *
   * @default {15000}
   */
  keepAlive?: number | false;
  /**
   * Keeps a producer alive after the request that started it has been answered, on runtimes that
   * end a request's work with its response (Workers: `ctx.waitUntil`).
   *
   * @default {undefined: nothing needed on long-lived servers}
   */
  waitUntil?: (promise: Promise<unknown>) => void;
  /**
   * Called with what a source threw, and with backplane failures that cannot be answered to a
   * caller (a heartbeat that could not be published). Must not throw.
   *
   * @default {logs the error with console.error}
   */
  onError?: (error: unknown) => void;
  /**
   * Callbacks told when subscribers' responses open and end (with their close reason and
   * duration), what they are sent, and what a `Last-Event-ID` found (`hit`: frames to resume
   * from, `none`: nothing to resume, 204), with the kind `resumable` (see `SSEMetrics`;
   * `otelMetrics()` from `hertz-sse/otel` records them). Nothing is measured without it.
   *
   * @default {undefined: no metrics}
   */
  metrics?: SSEMetrics;
  /**
   * The frames that end a stream, for every stream; `start()`'s `frame` option overrides them.
   *
   * @default {see TerminalFrames}
   */
  frame?: TerminalFrames;
  /**
   * The most frames a generation may have; past it, the stream fails (reason `"limit"`).
   *
   * @default {10000}
   */
  maxFrames?: number;
  /**
   * The most bytes (UTF-8, of `data` and `event`) a generation may have; past it, the stream
   * fails (reason `"limit"`).
   *
   * @default {4194304}
   */
  maxBytes?: number;
  /**
   * The parser's bound on one upstream event, in characters, when the source is a `Response`; an
   * upstream event larger than this fails the stream.
   *
   * @default {the value of maxBytes}
   */
  maxEventSize?: number;
}

/**
 * Options for {@linkcode ResumableStreams.start}.
 *
 * @example Usage
 * ```ts
 * import type { StartOptions } from "@hertz/sse/resumable";
 *
 * const options: StartOptions = { frame: { stop: () => ({ data: { type: "abort" } }) } };
 * ```
 */
export interface StartOptions {
  /**
   * Stops the stream when it aborts, as `stop()` does. Never pass a request's `signal` here: the
   * point of a resumable stream is that a disconnect does not stop it.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * The frames that end this stream, overriding the constructor's `frame` one by one.
   *
   * @default {the constructor's}
   */
  frame?: TerminalFrames;
}

/**
 * Options for {@linkcode ResumableStreams.subscribe}.
 *
 * @example Usage
 * ```ts
 * import type { ResumableSubscribeOptions } from "@hertz/sse/resumable";
 *
 * const options: ResumableSubscribeOptions = { headers: { "x-vercel-ai-ui-message-stream": "v1" } };
 * ```
 */
export interface ResumableSubscribeOptions {
  /**
   * Extra headers of the event-stream response.
   *
   * @default {undefined}
   */
  headers?: HeadersInit;
  /**
   * Where to resume from, instead of the request's `Last-Event-ID` header. `""` means from the
   * first frame, even when the stream has already ended (within retention): what the request that
   * started a generation needs, since a fast generation may be over before it subscribes. Without
   * this option, a request without `Last-Event-ID` for an ended stream gets 204.
   *
   * @default {the request's Last-Event-ID, if any}
   */
  lastEventId?: string;
}

function positive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0)) {
    throw new RangeError(`Cannot create ResumableStreams: "${name}" must be a positive number, got ${describe(value)}`);
  }
  return value;
}

function checkId(id: unknown, what: string): string {
  if (typeof id !== "string" || id === "")
    throw new TypeError(`Cannot ${what}: "id" must be a non-empty string, got ${describe(id)}`);
  return id;
}

const NO_CONTENT = (): Response => new Response(null, { status: 204 });

/**
 * Streams produced independently of the connections that read them, kept on a
 * {@linkcode Backplane}: `start()` runs a source (an upstream event-stream `Response`, a
 * `ReadableStream` or an iterable of events) and publishes each frame, `subscribe()` answers a
 * request with the stream from its `Last-Event-ID` (or from the first frame) on any instance,
 * `stop()` stops it from any instance, and `status()` tells how it stands. A client that
 * disconnects never stops a stream; only `stop()` (or the `signal` given to `start()`) does.
 *
 * @example Start, read, stop
 * ```ts
 * import { ResumableStreams } from "@hertz/sse/resumable";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const streams = new ResumableStreams();
 * await streams.start("chat-1", ["Hel", "lo"]);
 * // The request that started it asks for the first frame: a generation this short is over already.
 * const response = await streams.subscribe(new Request("http://localhost/chat-1"), "chat-1", { lastEventId: "" });
 * assertEquals((await response.text()).includes("data: Hel\n"), true);
 * assertEquals(await streams.status("chat-1"), "done");
 * await streams.close();
 * ```
 */
export class ResumableStreams {
  readonly #backplane: Backplane;
  readonly #ownsBackplane: boolean;
  readonly #prefix: string;
  readonly #retention: number;
  readonly #heartbeat: number;
  readonly #keepAlive: number | false;
  readonly #waitUntil: ((promise: Promise<unknown>) => void) | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #metrics: SSEMetrics | undefined;
  /** `#metrics` as its responses' `SSEStream` metrics (kind `resumable`). */
  readonly #streamMetrics: SSEMetrics | undefined;
  readonly #frames: Required<TerminalFrames>;
  readonly #maxFrames: number;
  readonly #maxBytes: number;
  readonly #maxEventSize: number;
  // The producers running in this process, by stream id: a local stop() reaches them at once.
  readonly #producers = new Map<string, Producer>();
  // Failure declarations under way, by stream id, so that many subscribers of one instance that
  // notice the same silence publish one failure frame.
  readonly #declaring = new Map<string, Promise<void>>();
  // Responses being served, ended by close().
  readonly #responses = new Set<AbortController>();
  #closed = false;
  #closing: Promise<void> | undefined;

  /** Creates the streams; nothing is published until `start()`. */
  constructor(options: ResumableStreamsOptions = {}) {
    this.#retention = positive(options.retention, "retention", 600_000);
    this.#heartbeat = positive(options.heartbeat, "heartbeat", 5_000);
    const keepAlive = options.keepAlive ?? 15_000;
    if (keepAlive !== false) positive(keepAlive, "keepAlive", 15_000);
    this.#keepAlive = keepAlive;
    this.#maxFrames = positive(options.maxFrames, "maxFrames", 10_000);
    this.#maxBytes = positive(options.maxBytes, "maxBytes", 4 * 1024 * 1024);
    this.#maxEventSize = positive(options.maxEventSize, "maxEventSize", this.#maxBytes);
    const prefix = options.prefix ?? "resumable:";
    if (typeof prefix !== "string" || prefix === "") {
      throw new TypeError(`Cannot create ResumableStreams: "prefix" must be a non-empty string, got ${describe(prefix)}`);
    }
    this.#prefix = prefix;
    if (options.waitUntil !== undefined && typeof options.waitUntil !== "function") {
      throw new TypeError(`Cannot create ResumableStreams: "waitUntil" must be a function, got ${describe(options.waitUntil)}`);
    }
    this.#waitUntil = options.waitUntil;
    const onError = options.onError ?? ((error: unknown) => logError("a resumable stream failed", error));
    this.#onError = (error) => report(onError, error);
    this.#metrics = options.metrics;
    this.#streamMetrics = options.metrics === undefined ? undefined : resumableMetrics(options.metrics);
    this.#frames = { ...DEFAULT_TERMINAL_FRAMES, ...options.frame };
    this.#ownsBackplane = options.backplane === undefined;
    this.#backplane =
      options.backplane ??
      new MemoryBackplane({
        // Frames, plus a heartbeat per `heartbeat` for an hour, plus the end.
        maxEvents: this.#maxFrames + Math.ceil(3_600_000 / this.#heartbeat) + 2,
        maxAge: this.#retention + 3_600_000,
      });
  }

  /**
   * Starts a generation of stream `id`, running `source` detached from every connection. Resolves
   * once the stream exists on the backplane (a `subscribe()` anywhere then finds it); the source
   * runs on. Rejects with a `TypeError` if the stream is already active: a stream id has one
   * generation at a time, and starting it again after its end begins a new one.
   *
   * `source` is an upstream event-stream `Response` (parsed with the project's parser; each
   * frame's `event` and `data` are kept, its id replaced), a `ReadableStream` or (async) iterable
   * of events or strings, or a function `(signal) => one of those` (pass `signal` to `fetch` so
   * that a stop cancels the upstream request).
   */
  async start(id: string, source: ResumableSource, options: StartOptions = {}): Promise<void> {
    checkId(id, "start stream");
    if (this.#closed) throw new TypeError("Cannot start stream: the streams are closed");
    if (source === null || source === undefined) {
      throw new TypeError(`Cannot start stream ${JSON.stringify(id)}: expected a source, got ${describe(source)}`);
    }
    if (this.#producers.has(id)) throw new TypeError(`Cannot start stream ${JSON.stringify(id)}: it is already active`);
    const topics = topicsOf(this.#prefix, id);
    const { state } = await readState(this.#backplane, topics);
    if (state !== undefined) {
      const status = statusAt(state, Date.now(), this.#heartbeat, this.#retention);
      if (status === "active") throw new TypeError(`Cannot start stream ${JSON.stringify(id)}: it is already active`);
      // A generation whose producer died unnoticed gets its end first, so that its subscribers
      // end and the new generation's producer does not take that end for its own stop.
      if (status === "lost") await this.#declareLost(id, topics);
    }
    if (this.#producers.has(id)) throw new TypeError(`Cannot start stream ${JSON.stringify(id)}: it is already active`);
    const producer = await startProducer({
      backplane: this.#backplane,
      topics,
      source,
      heartbeat: this.#heartbeat,
      maxFrames: this.#maxFrames,
      maxBytes: this.#maxBytes,
      maxEventSize: this.#maxEventSize,
      frames: { ...this.#frames, ...options.frame },
      signal: options.signal,
      onError: this.#onError,
    });
    this.#producers.set(id, producer);
    const finished = producer.finished.finally(() => {
      if (this.#producers.get(id) === producer) this.#producers.delete(id);
    });
    this.#waitUntil?.(finished);
    finished.catch(this.#onError);
  }

  /**
   * Answers a request for stream `id`: the frames after the request's `Last-Event-ID` (all of
   * them without one), then the live frames while it runs, each once, until its terminal frame.
   * Resolves with **204** when there is nothing to resume: the stream is unknown or expired, or
   * it has ended and the request has no `Last-Event-ID` or has the id of its last frame.
   */
  async subscribe(request: Request, id: string, options: ResumableSubscribeOptions = {}): Promise<Response> {
    const response = await this.#subscribe(request, id, options);
    const metrics = this.#metrics;
    if (metrics !== undefined) {
      const lastEventId = options.lastEventId ?? getLastEventId(request);
      if (lastEventId !== undefined && lastEventId !== "")
        _record(metrics, "replay", "resumable", response.status === 204 ? "none" : "hit");
    }
    return response;
  }

  async #subscribe(request: Request, id: string, options: ResumableSubscribeOptions): Promise<Response> {
    checkId(id, "subscribe");
    if (this.#closed) return NO_CONTENT();
    const topics = topicsOf(this.#prefix, id);
    const backplane = this.#backplane;
    const lastEventId = options.lastEventId ?? getLastEventId(request);
    const resumed = lastEventId !== undefined && lastEventId !== "";
    let rest: readonly BackplaneEntry[] | undefined;
    let lost = false;
    let lastKnown: string | undefined;
    if (resumed) {
      // The common reconnect, mid-stream: one history read after the client's id says all there
      // is to know. The full state (two reads, the whole generation) is read only when it says
      // nothing (an id the backplane no longer knows, or nothing after it).
      const history = await backplane.history([topics.frames], lastEventId);
      if (!history.gone && history.entries.length > 0) {
        rest = history.entries;
        const now = Date.now();
        let lastBeat: number | undefined;
        let frames = false;
        for (const entry of rest) {
          const kind = kindOf(entry);
          if (kind.kind === "frame") frames = true;
          else if (kind.kind === "beat") lastBeat = kind.time;
          else if (kind.kind === "end") {
            if (now - kind.time > this.#retention) return NO_CONTENT();
            // A terminal entry right after the client's id: the id may be a terminal frame
            // itself (several instances can declare one lost producer failed at once), which
            // only the whole generation tells.
            if (!frames) rest = undefined;
            lastBeat = undefined;
            break;
          }
        }
        lost = lastBeat !== undefined && now - lastBeat > 3 * this.#heartbeat;
      }
    }
    if (rest === undefined) {
      const { state, trimmed } = await readState(backplane, topics);
      if (trimmed) {
        this.#onError(
          new RangeError(
            `Cannot resume stream ${JSON.stringify(id)}: the backplane no longer holds its start; raise its "maxEvents" or "maxAge"`,
          ),
        );
      }
      if (state === undefined) return NO_CONTENT();
      const status = statusAt(state, Date.now(), this.#heartbeat, this.#retention);
      if (status === "expired") return NO_CONTENT();
      // A finished stream is replayed only to a client that has part of it, or to the request
      // that started it (which asks for the first frame explicitly).
      if (!resumed && options.lastEventId !== "" && state.ended !== undefined) return NO_CONTENT();
      lost = status === "lost";
      lastKnown = resumed ? lastEventId : state.head;
      if (!resumed || lastEventId === state.head) {
        rest = state.entries;
      } else {
        const index = state.entries.findIndex((entry) => entry.id === lastEventId);
        // The id is unknown, or the client has the terminal frame already.
        if (index === -1 || (state.end !== -1 && index >= state.end)) return NO_CONTENT();
        rest = state.entries.slice(index + 1);
      }
    }
    const replay: BackplaneEntry[] = [];
    let ended = false;
    let visible = false;
    for (const entry of rest) {
      replay.push(entry);
      const kind = kindOf(entry);
      if (kind.kind === "end") {
        ended = true;
        visible ||= kind.visible;
        break;
      }
      if (kind.kind === "frame") visible = true;
    }
    if (ended && !visible) return NO_CONTENT();
    if (!ended && lost) void this.#declareLost(id, topics);
    if (rest.length > 0) lastKnown = rest[rest.length - 1]!.id;
    const after = lastKnown!;

    const controller = new AbortController();
    this.#responses.add(controller);
    const signal = request.signal === undefined ? controller.signal : AbortSignal.any([request.signal, controller.signal]);
    const response = follow({
      entries: replay,
      live: ended ? undefined : (listener) => backplane.subscribe(topics.frames, listener),
      gap: async () => {
        const history = await backplane.history([topics.frames], after);
        if (history.gone)
          throw new RangeError(`Cannot follow stream ${JSON.stringify(id)}: the backplane no longer holds its frames`);
        return history.entries;
      },
      silence: 2 * this.#heartbeat,
      onSilence: () => void this.#declareLost(id, topics),
      keepAlive: this.#keepAlive,
      signal,
      headers: options.headers,
      onError: this.#onError,
      onEnd: () => this.#responses.delete(controller),
      metrics: this.#streamMetrics,
    });
    return response;
  }

  /**
   * Stops stream `id` from any instance: the producer's source `signal` aborts (so an upstream
   * `fetch` made with it is cancelled), and every subscriber receives the stop frame and its
   * response ends. Resolves `true` once the stop is published, or `false` when the stream is not
   * active (unknown, or already ended).
   */
  async stop(id: string, reason?: unknown): Promise<boolean> {
    checkId(id, "stop stream");
    const local = this.#producers.get(id);
    if (local !== undefined) {
      local.stop(reason);
      await local.finished;
      return true;
    }
    const topics = topicsOf(this.#prefix, id);
    const { state } = await readState(this.#backplane, topics);
    if (state === undefined || state.ended !== undefined) return false;
    let frame: ReturnType<typeof toBackplaneFrame>;
    try {
      frame = toBackplaneFrame(this.#frames.stop(reason) ?? undefined);
    } catch (error) {
      this.#onError(error);
      frame = undefined;
    }
    await this.#backplane.publish(topics.frames, endEvent("stopped", Date.now(), frame));
    return true;
  }

  /**
   * How stream `id` stands: `"active"` while it runs, `"done"`, `"stopped"` or `"failed"` once it
   * has ended (until `retention` has passed), or `undefined` when the backplane holds nothing of
   * it. A stream whose producer stopped sending heartbeats is declared `"failed"` here.
   */
  async status(id: string): Promise<StreamStatus | undefined> {
    checkId(id, "read status");
    const topics = topicsOf(this.#prefix, id);
    const { state } = await readState(this.#backplane, topics);
    if (state === undefined) return undefined;
    const status = statusAt(state, Date.now(), this.#heartbeat, this.#retention);
    if (status === "expired") return undefined;
    if (status === "lost") {
      await this.#declareLost(id, topics);
      return "failed";
    }
    return status;
  }

  /**
   * Ends every response this instance serves (clients reconnect, elsewhere if need be) and ends
   * the producers running here with their failure frame. Resolves once those producers have
   * published their end, so that a backplane given in the options can be closed afterwards (one
   * made by the streams is closed here). Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    for (const controller of this.#responses) controller.abort();
    this.#responses.clear();
    const producers = [...this.#producers.values()];
    for (const producer of producers) producer.fail(new DOMException("The streams were closed", "AbortError"));
    this.#closing = Promise.allSettled(producers.map((producer) => producer.finished)).then(async () => {
      if (this.#ownsBackplane) await this.#backplane.close();
    });
    return this.#closing;
  }

  /** Publishes the failure frame of a stream whose producer has gone silent, once per instance at a time. */
  #declareLost(id: string, topics: StreamTopics): Promise<void> {
    let pending = this.#declaring.get(id);
    if (pending !== undefined) return pending;
    pending = (async () => {
      // Read again: the stream may have ended, or its producer spoken, since the silence began.
      const { state } = await readState(this.#backplane, topics);
      if (state === undefined || state.ended !== undefined) return;
      if (state.lastBeat !== undefined && Date.now() - state.lastBeat < this.#heartbeat) return;
      let frame: ReturnType<typeof toBackplaneFrame>;
      try {
        frame = toBackplaneFrame(this.#frames.failure({ reason: "lost" }) ?? undefined);
      } catch (error) {
        this.#onError(error);
        frame = undefined;
      }
      await this.#backplane.publish(topics.frames, endEvent("failed", Date.now(), frame));
    })()
      .catch(this.#onError)
      .finally(() => this.#declaring.delete(id));
    this.#declaring.set(id, pending);
    return pending;
  }
}
