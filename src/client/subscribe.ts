/**
 * `subscribe()`: a fetch-based event-stream client that reconnects by itself, per the WHATWG
 * `EventSource` processing model, with any method, headers and body, and typed messages when it
 * is given an event map.
 *
 * @module
 */

import { isEventStream } from "../_internal/http.ts";
import { isPromiseLike, report } from "../_internal/log.ts";
import type { SSEMessage } from "../core/event.ts";
import type { EventSchemas } from "../core/events.ts";
import { encodeByteString } from "../core/last-event-id.ts";
import { createParser, type EventStreamParser } from "../parser/create-parser.ts";
import type { ParseError } from "../parser/parse-error.ts";
import { badMessage, prepareMessage } from "./_messages.ts";
import { type ResolvedOptions, resolveOptions } from "./_options.ts";
import { AsyncQueue } from "./_queue.ts";
import { reconnectDelay } from "./_reconnect-delay.ts";
import { ConnectionError, ResponseError, RetryLimitError } from "./errors.ts";
import type { FetchLikeInit, FetchLikeResponse } from "./fetch-like.ts";
import type {
  ClientSubscribeOptions,
  MessageChoice,
  RetryInfo,
  TypedSubscribeOptions,
  TypedSubscriptionMessage,
} from "./subscribe-options.ts";
import type { Subscription, SubscriptionState } from "./subscription.ts";

export type { Subscription, SubscriptionState } from "./subscription.ts";

// Reading the body pauses while this many messages wait for the loop to take them.
const HIGH_WATER_MARK = 32;

function noop(): void {}

/** A connection that failed, and whether it had opened (for the 100 ms floor). */
interface Failure {
  error: unknown;
  opened: boolean;
}

/**
 * The subscription: options are resolved by `_options.ts`, iteration is an `AsyncQueue`, delays
 * come from `reconnectDelay`; what is left here is the connection loop (connect, read, deliver,
 * decide, wait), kept whole so that its order can be read in one place.
 */
class SubscriptionImpl implements Subscription<unknown> {
  readonly #o: ResolvedOptions;
  readonly #parser: EventStreamParser;
  readonly #queue = new AsyncQueue<unknown>(HIGH_WATER_MARK);
  readonly #controller = new AbortController(); // Aborts when the subscription ends.
  #connection: AbortController | undefined; // Aborts the current request and its body.
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;
  #onExternalAbort: (() => void) | undefined;

  #state: SubscriptionState = "connecting";
  #error: unknown = undefined;
  #reconnectionTime: number;
  #failures = 0; // Reconnections in a row that did not open a stream.
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #batch: (SSEMessage | ParseError)[] = [];
  #iterating = false;

  constructor(input: string | URL, options: ClientSubscribeOptions<never>) {
    const o = resolveOptions(input, options);
    this.#o = o;
    this.#reconnectionTime = o.retry;
    this.#parser = createParser({
      lastEventId: o.lastEventId,
      maxEventSize: o.maxEventSize,
      onEvent: (message) => this.#batch.push(message),
      onError: (error) => this.#batch.push(error),
      // [spec] If the field value consists of only ASCII digits, then … set the event stream's
      // reconnection time to that integer. (Clamped: the digits may say anything.)
      onRetry: (ms) => {
        this.#reconnectionTime = Math.min(ms, o.maxRetry);
      },
    });
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const signal = o.signal;
    if (signal?.aborted) {
      this.#fail(signal.reason, { drop: true });
      return;
    }
    if (signal) {
      this.#onExternalAbort = () => this.#fail(signal.reason, { drop: true });
      signal.addEventListener("abort", this.#onExternalAbort, { once: true });
    }
    void this.#run();
  }

  get lastEventId(): string {
    return this.#parser.lastEventId;
  }

  get readyState(): SubscriptionState {
    return this.#state;
  }

  get closed(): Promise<void> {
    return this.#closed;
  }

  get error(): unknown {
    return this.#error;
  }

  close(): void {
    this.#end(false, undefined, true);
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown, undefined> {
    if (this.#iterating) throw new TypeError("Cannot iterate subscription: it is already being iterated");
    this.#iterating = true;
    return {
      next: () => this.#queue.next(),
      return: () => {
        this.close();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  get #ended(): boolean {
    return this.#state === "closed";
  }

  /** Ends the subscription with `error`. `drop` discards what the loop has not taken yet. */
  #fail(error: unknown, { drop = false }: { drop?: boolean } = {}): void {
    this.#end(true, error, drop);
  }

  /** Ends the subscription, once: `failed` with `error`, or normally. */
  #end(failed: boolean, error: unknown, drop: boolean): void {
    if (this.#ended) return;
    this.#state = "closed";
    this.#error = failed ? error : undefined;
    this.#batch = [];
    this.#controller.abort();
    this.#connection?.abort();
    this.#connection = undefined;
    this.#reader?.cancel().catch(noop);
    this.#reader = undefined;
    if (this.#onExternalAbort) this.#o.signal?.removeEventListener("abort", this.#onExternalAbort);
    this.#onExternalAbort = undefined;
    this.#queue.end(failed, error, drop);
    this.#resolveClosed();
  }

  /** Tells `onError`, which only reports: what it returns is ignored, what it throws is logged. */
  #report(error: unknown): void {
    const onError = this.#o.onError;
    if (onError) report(onError, error);
  }

  async #run(): Promise<void> {
    try {
      while (!this.#ended) {
        const failure = await this.#connect();
        if (failure === undefined || this.#ended) return;
        this.#report(failure.error);
        if (!(await this.#reconnect(failure))) return;
      }
    } catch (error) {
      // Only a bug in this file can get here; end the subscription rather than hang.
      this.#fail(error);
    }
  }

  /**
   * Makes one connection and reads it to its end. Returns the failure to handle, or `undefined`
   * when the subscription has ended (closed, or a 204).
   */
  async #connect(): Promise<Failure | undefined> {
    const o = this.#o;
    const headers = new Headers(o.headers);
    // [spec] Accept: text/event-stream; cache mode "no-store" (here: Cache-Control: no-cache,
    // which every fetch implementation sends, and proxies honour).
    if (!headers.has("accept")) headers.set("accept", "text/event-stream");
    if (!headers.has("cache-control")) headers.set("cache-control", "no-cache");
    // [spec] If the EventSource object's last event ID string is not the empty string, set
    // `Last-Event-ID` to it, encoded as UTF-8. A header value is a byte string: the UTF-8 bytes,
    // one character each, are what `Headers` accepts and what browsers send. An id longer than
    // the bound is not sent: the stream chose it, and must not choose the size of our headers.
    const lastEventId = this.#parser.lastEventId;
    if (lastEventId !== "") {
      const encoded = encodeByteString(lastEventId);
      if (encoded.length <= o.maxLastEventIdLength) headers.set("last-event-id", encoded);
    }
    const connection = new AbortController();
    this.#connection = connection;
    const init: FetchLikeInit = { method: o.method, headers: Object.fromEntries(headers), signal: connection.signal };
    if (o.body != null) init.body = o.body;
    this.#state = "connecting";

    let response: FetchLikeResponse;
    try {
      // Called as a plain function: a browser's fetch throws "Illegal invocation" when called
      // as a method of anything but the global object.
      const fetch = o.fetch;
      response = await fetch(o.url, init);
    } catch (cause) {
      if (this.#ended) return undefined;
      // [spec] If res is a network error, then reestablish the connection.
      return { error: new ConnectionError("fetch", { cause }), opened: false };
    }
    if (this.#ended) {
      response.body?.cancel().catch(noop);
      return undefined;
    }
    // A 204 tells the client to stop reconnecting (the standard's authoring notes): the
    // subscription ends, normally.
    if (response.status === 204) {
      response.body?.cancel().catch(noop);
      this.#end(false, undefined, false);
      return undefined;
    }
    // [spec] If res's status is not 200, or if res's `Content-Type` is not `text/event-stream`,
    // then fail the connection.
    // The body is left unread, for whoever catches the error (an API's explanation is often
    // there); it is cancelled if the subscription retries instead.
    if (response.status !== 200 || !isEventStream(response.headers.get("content-type"))) {
      this.#connection = undefined; // Handed over with the error: ending must not abort it.
      return { error: new ResponseError(response), opened: false };
    }
    if (o.onOpen) {
      try {
        const result = o.onOpen(response);
        if (isPromiseLike(result)) await result;
      } catch (error) {
        response.body?.cancel().catch(noop);
        if (this.#ended) return undefined;
        return { error, opened: false };
      }
      if (this.#ended) {
        response.body?.cancel().catch(noop);
        return undefined;
      }
    }
    // [spec] Otherwise, announce the connection and interpret res's body line by line.
    this.#state = "open";
    this.#failures = 0;
    return await this.#read(response);
  }

  async #read(response: FetchLikeResponse): Promise<Failure | undefined> {
    // Each connection is a new stream for the parser: a partial event of the previous one is
    // dropped (as at the end of any stream), the last event id is kept.
    this.#parser.reset();
    let reader: ReadableStreamDefaultReader<Uint8Array>;
    try {
      if (!response.body) throw new TypeError("the response has no body");
      reader = response.body.getReader();
    } catch (cause) {
      return { error: new ConnectionError("read", { cause }), opened: true };
    }
    this.#reader = reader;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (this.#ended) return undefined;
        if (done) break;
        this.#parser.feed(value);
        if (this.#batch.length > 0 && !(await this.#deliver())) return undefined;
      }
    } catch (cause) {
      if (this.#ended) return undefined;
      reader.cancel().catch(noop);
      return { error: new ConnectionError("read", { cause }), opened: true };
    } finally {
      if (this.#reader === reader) this.#reader = undefined;
    }
    // [spec] Once the end of the file is reached, any pending data must be discarded … the
    // user agent must then reestablish the connection (whether the body ended cleanly or not).
    this.#parser.end();
    return { error: new ConnectionError("end"), opened: true };
  }

  /** Hands the messages parsed from one chunk over, in order. Returns false once it has ended. */
  async #deliver(): Promise<boolean> {
    const batch = this.#batch;
    this.#batch = [];
    const o = this.#o;
    for (const item of batch) {
      if (this.#ended) return false;
      let message: unknown;
      try {
        message = prepareMessage(item, o);
        if (isPromiseLike(message)) message = await message;
      } catch (error) {
        if (this.#ended) return false;
        const outcome = badMessage(error, item, o);
        this.#report(error);
        if (outcome === "throw") {
          this.#fail(error);
          return false;
        }
        if (outcome === "skip") continue;
        message = outcome.deliver;
      }
      if (this.#ended) return false;
      if (o.onMessage) {
        try {
          const result = o.onMessage(message as SSEMessage);
          if (isPromiseLike(result)) await result;
        } catch (error) {
          if (!this.#ended) {
            this.#report(error);
            this.#fail(error);
          }
          return false;
        }
        continue;
      }
      this.#queue.push(message);
      const room = this.#queue.room();
      if (room) await room;
    }
    return !this.#ended;
  }

  /**
   * Decides whether and when to reconnect after `failure` (already reported), and waits. Returns
   * false if the subscription ended instead.
   */
  async #reconnect(failure: Failure): Promise<boolean> {
    const { error, opened } = failure;
    const o = this.#o;
    this.#state = "connecting";
    const attempt = this.#failures + 1;
    if (attempt > o.maxAttempts) {
      if (o.maxAttempts > 0) {
        const limit = new RetryLimitError(o.maxAttempts, { cause: error });
        this.#report(limit);
        this.#fail(limit);
      } else if (ConnectionError.is(error) && error.kind === "end") {
        this.#end(false, undefined, false); // No reconnection wanted, and the server is done.
      } else {
        this.#fail(error);
      }
      return false;
    }
    // [spec] Wait a delay equal to the reconnection time of the event source. Optionally, wait
    // some more: here, backoff while reconnections keep failing, jitter, and a floor after a
    // connection that opened.
    const delay = reconnectDelay({
      attempt,
      reconnectionTime: this.#reconnectionTime,
      factor: o.factor,
      maxDelay: o.maxDelay,
      jitter: o.jitter,
      afterOpen: opened,
      random: Math.random(),
    });
    const info: RetryInfo = { attempt, delay, error, lastEventId: this.#parser.lastEventId };
    let retry: boolean;
    try {
      const answer = o.shouldRetry(error, info);
      retry = isPromiseLike(answer) ? await answer : answer;
    } catch (thrown) {
      this.#fail(thrown);
      return false;
    }
    if (this.#ended) return false;
    if (!retry) {
      this.#fail(error);
      return false;
    }
    if (error instanceof ResponseError) error.response.body?.cancel().catch(noop);
    this.#failures = attempt;
    if (o.onRetry) {
      try {
        o.onRetry(info);
      } catch (thrown) {
        this.#fail(thrown);
        return false;
      }
      if (this.#ended) return false;
    }
    const signal = this.#controller.signal;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delay);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
    return !this.#ended;
  }
}

/**
 * Subscribes to an event stream: connects with `fetch`, parses the stream, and reconnects when
 * the connection is lost, as `EventSource` does (`Last-Event-ID`, the server's `retry:`), with
 * backoff and a bound on failed attempts. Unlike `EventSource` it takes any method, headers and
 * body, and an injected `fetch`.
 *
 * Use it as an async iterable, or with callbacks. It connects at once. A 204 response ends it
 * normally; another status or content type, a refusal by `onOpen` that `shouldRetry` does not
 * retry, an invalid message (see `onInvalid`), or too many failed reconnections end it with an
 * error, thrown from the `for await` loop. Leaving the loop closes the connection.
 *
 * Given `events` (see `defineEvents`), it parses each message's data as JSON, validates it with
 * the schema of its type, and yields a union that `message.type` narrows.
 *
 * @example Iterating
 * ```ts ignore
 * // ignore: needs a server to connect to.
 * import { subscribe } from "@hertz/sse/client";
 *
 * for await (const message of subscribe("https://example.com/sse")) {
 *   console.log(message.type, message.data);
 *   if (message.type === "done") break; // Closes the connection.
 * }
 * ```
 *
 * @example Typed events
 * ```ts ignore
 * // ignore: needs a server to connect to, and zod.
 * import { defineEvents } from "@hertz/sse";
 * import { subscribe } from "@hertz/sse/client";
 * import * as z from "zod";
 *
 * const events = defineEvents({ price: z.object({ symbol: z.string(), price: z.number() }) });
 * for await (const message of subscribe("https://example.com/prices", { events })) {
 *   if (message.type === "price") console.log(message.data.symbol, message.data.price.toFixed(2));
 * }
 * ```
 *
 * @example A POST stream from an LLM-style API
 * ```ts ignore
 * // ignore: needs a server to connect to.
 * import { subscribe } from "@hertz/sse/client";
 *
 * const tokens = subscribe("https://api.example.com/v1/chat", {
 *   headers: { Authorization: `Bearer ${Deno.env.get("API_KEY")}`, "Content-Type": "application/json" },
 *   body: JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "Hi" }] }),
 *   backoff: { maxAttempts: 0 }, // A generation cannot be resumed: do not reconnect.
 * });
 * for await (const { data } of tokens) {
 *   if (data === "[DONE]") break;
 *   console.log(JSON.parse(data));
 * }
 * ```
 *
 * @example Callbacks, and a stream that answers once
 * ```ts
 * import { ResponseError, subscribe } from "@hertz/sse/client";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const body = "event: greeting\ndata: hello\n\n";
 * const received: string[] = [];
 * const subscription = subscribe("https://example.com/sse", {
 *   fetch: () => Promise.resolve(new Response(body, { headers: { "Content-Type": "text/event-stream" } })),
 *   backoff: { maxAttempts: 0 }, // End with the first response.
 *   onMessage: (message) => void received.push(`${message.type}: ${message.data}`),
 *   onError: (error) => console.warn("reported:", error),
 *   shouldRetry: (error) => ResponseError.is(error) && error.status === 503, // Retry this one too.
 * });
 * await subscription.closed;
 * assertEquals(received, ["greeting: hello"]);
 * ```
 */
export function subscribe<S extends EventSchemas, I extends MessageChoice = "throw", U extends MessageChoice = "skip">(
  input: string | URL,
  options: TypedSubscribeOptions<S, I, U>,
): Subscription<TypedSubscriptionMessage<S, I, U>>;
/** Subscribes to an untyped event stream: messages are `SSEMessage`s, their data a string. */
export function subscribe(input: string | URL, options?: ClientSubscribeOptions): Subscription;
export function subscribe(input: string | URL, options: ClientSubscribeOptions<never> = {}): Subscription<unknown> {
  return new SubscriptionImpl(input, options);
}
