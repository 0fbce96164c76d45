/**
 * `subscribe()`: a fetch-based event-stream client that reconnects by itself, per the WHATWG
 * `EventSource` processing model, with any method, headers and body.
 *
 * @module
 */

import { isEventStream } from "../_internal/http.ts";
import { isPromiseLike } from "../_internal/log.ts";
import type { SSEMessage } from "../core/event.ts";
import { encodeByteString } from "../core/last-event-id.ts";
import { createParser, type EventStreamParser } from "../parser/create-parser.ts";
import { ParseError } from "../parser/parse-error.ts";
import { ConnectionError, ResponseError, RetryLimitError } from "./errors.ts";
import type { FetchLike, FetchLikeInit, FetchLikeResponse, SubscribeBody } from "./fetch-like.ts";

/** What `onRetry` is told before each reconnection. */
export interface RetryInfo {
  /** Which reconnection this is since the last successful open: 1, 2, … */
  attempt: number;
  /** How long the subscription waits before reconnecting, in milliseconds. */
  delay: number;
  /** Why it reconnects: usually a {@linkcode ConnectionError}. */
  error: unknown;
  /** The id that the reconnection sends as `Last-Event-ID` (none if empty). */
  lastEventId: string;
}

/** How the delay between reconnections grows while they keep failing. */
export interface BackoffOptions {
  /**
   * Each failed reconnection in a row multiplies the delay by this (1 keeps it constant). The
   * delay starts from the reconnection time (`retry`, or the server's `retry:`) and goes back to
   * it once a connection opens.
   *
   * @default {2}
   */
  factor?: number;
  /**
   * The delay never grows beyond this many milliseconds (plus jitter), unless the reconnection
   * time itself is longer (a server's `retry:` is honoured as a minimum).
   *
   * @default {30000}
   */
  maxDelay?: number;
  /**
   * How much random time to add to each delay, as a fraction of it: the delay is multiplied by a
   * random factor between 1 and `1 + jitter`, so that clients dropped together do not all come
   * back at once. (It only adds: the standard makes the reconnection time a minimum.)
   *
   * @default {0.2}
   */
  jitter?: number;
  /**
   * How many reconnections in a row may fail to open a stream before the subscription gives up
   * with a {@linkcode RetryLimitError}. A connection that opens resets the count, so a server
   * that ends each response normally is reconnected to indefinitely, as the standard says.
   * `Infinity` never gives up. `0` turns reconnection off: the subscription ends with its first
   * connection, normally if the server ended the response, with the error if it failed (for
   * streams that cannot be resumed, such as an LLM's answer).
   *
   * @default {10}
   */
  maxAttempts?: number;
}

/** Options for {@linkcode subscribe}. */
export interface SubscribeOptions {
  /**
   * The request method.
   *
   * @default {"GET", or "POST" when a body is given}
   */
  method?: string;
  /**
   * Request headers (for example `Authorization`). `Accept: text/event-stream` and
   * `Cache-Control: no-cache` are added unless given here; `Last-Event-ID` is set by the
   * subscription (use `lastEventId` for the first request).
   *
   * @default {undefined}
   */
  headers?: HeadersInit;
  /**
   * The request body, sent again on every reconnection, for POST streams such as LLM APIs use.
   * A `ReadableStream` cannot be sent twice and is not accepted.
   *
   * @default {undefined}
   */
  body?: SubscribeBody | null;
  /**
   * The `fetch` to use: for a proxy agent, a test double, cookies, or a runtime's own options.
   *
   * @default {globalThis.fetch}
   */
  fetch?: FetchLike;
  /**
   * Closes the subscription when it aborts: the connection is cut, nothing is delivered after
   * it, and a `for await` loop over the subscription throws the signal's reason.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * The last event id to resume from: sent as `Last-Event-ID` from the first request on.
   *
   * @default {""}
   */
  lastEventId?: string;
  /**
   * The reconnection time in milliseconds: the delay before reconnecting after a connection is
   * lost. A `retry:` field from the server replaces it.
   *
   * @default {3000}
   */
  retry?: number;
  /**
   * How the delay grows while reconnections keep failing, and when to give up.
   *
   * @default {{ factor: 2, maxDelay: 30000, jitter: 0.2, maxAttempts: 10 }}
   */
  backoff?: BackoffOptions;
  /**
   * The largest event accepted, in characters (see the parser's `maxEventSize`). A larger event
   * is dropped and reported to `onError` as a `ParseError`; the subscription then ends unless
   * `onError` returns `true`.
   *
   * @default {16777216}
   */
  maxEventSize?: number;
  /**
   * Turns each message's data into what is delivered: `"base64"` decodes base64-encoded UTF-8
   * (as the Go client's base64 option); a function does anything else. An error it throws is
   * handled like a `ParseError`.
   *
   * @default {undefined} (data as received)
   */
  decode?: "base64" | ((data: string) => string);
  /**
   * Called with each response that opens a stream (status 200, `text/event-stream`), before any
   * of its messages: the connect callback and the response validator in one. If it throws (or
   * rejects), the response is refused: its body is cancelled and the error goes to `onError`,
   * then ends the subscription unless `onError` returns `true`.
   *
   * @default {undefined}
   */
  onOpen?: (response: FetchLikeResponse) => unknown;
  /**
   * Called with each message. When given, messages go here instead of to iteration (a `for
   * await` loop then yields nothing, and ends when the subscription does). If it returns a
   * promise, the next message waits for it, and reading pauses meanwhile. An error it throws is
   * handled like a `ParseError`.
   *
   * @default {undefined} (messages are iterated)
   */
  onMessage?: (message: SSEMessage) => unknown;
  /**
   * Called with every error: a {@linkcode ConnectionError} (the disconnect callback), a
   * {@linkcode ResponseError}, what `onOpen` or `onMessage` threw, a `ParseError` or a decoding
   * error. What it returns decides what happens next:
   *
   * - nothing: the default. A `ConnectionError` is retried after the delay; anything else ends
   *   the subscription with that error.
   * - `true`: go on. An error of the connection is retried after the delay (a refused response
   *   too); an error of one message skips that message.
   * - `false`: end the subscription with this error.
   * - throwing (or rejecting): end the subscription with what was thrown.
   *
   * It may return a promise (to refresh a token before a retry, say); the subscription waits.
   * An error that ends the subscription is thrown from the `for await` loop, and is
   * {@linkcode Subscription.error}.
   *
   * @default {undefined}
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: `void` lets `console.warn` and other void functions be passed.
  onError?: (error: unknown) => boolean | void | Promise<boolean | void>;
  /**
   * Called before each reconnection, once the delay is known.
   *
   * @default {undefined}
   */
  onRetry?: (info: RetryInfo) => void;
}

/** The state of a {@linkcode Subscription}. */
export type SubscriptionState = "connecting" | "open" | "closed";

/**
 * A running subscription, made by {@linkcode subscribe}: an async iterable of messages that
 * reconnects by itself until it is closed or fails.
 */
export interface Subscription extends AsyncIterable<SSEMessage> {
  /** The last event id seen (what the next reconnection sends as `Last-Event-ID`). */
  readonly lastEventId: string;
  /** `"connecting"` (also while waiting to reconnect), `"open"` or `"closed"`. */
  readonly readyState: SubscriptionState;
  /** Resolves when the subscription has ended, for whatever reason. Never rejects. */
  readonly closed: Promise<void>;
  /**
   * The error that ended the subscription, or `undefined` if it has not ended or ended normally
   * (`close()`, a 204 response, or a loop that was left).
   */
  readonly error: unknown;
  /** Ends the subscription at once: the connection is cut and nothing more is delivered. */
  close(): void;
  /** Iterates the messages; a subscription can be iterated once. Leaving the loop closes it. */
  [Symbol.asyncIterator](): AsyncIterator<SSEMessage, undefined>;
}

const DEFAULT_RETRY = 3000;
// Timers take at most 2³¹-1 ms; longer delays would fire at once.
const MAX_TIMER = 2 ** 31 - 1;
// Reading the body pauses while this many messages wait for the loop to take them.
const HIGH_WATER_MARK = 32;

function noop(): void {}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeBase64(data: string): string {
  let binary: string;
  try {
    binary = atob(data); // Forgiving base64: the LFs between data lines are skipped.
  } catch (cause) {
    const shown = data.length > 20 ? `${data.slice(0, 20)}…` : data;
    throw new SyntaxError(`Cannot decode message data: it is not base64, got ${JSON.stringify(shown)}`, { cause });
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw new SyntaxError("Cannot decode message data: the base64 bytes are not UTF-8", { cause });
  }
}

function checkNumber(name: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY): void {
  if (typeof value !== "number" || Number.isNaN(value) || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `at least ${min}` : `between ${min} and ${max}`;
    throw new RangeError(`Cannot subscribe: "${name}" must be a number ${range}, got ${String(value)}`);
  }
}

function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`Cannot subscribe: "${name}" must be a function, got ${typeof value}`);
  }
}

type Decision = "go-on" | "stop";

class SubscriptionImpl implements Subscription {
  readonly #url: string | URL;
  readonly #method: string;
  readonly #headers: Headers;
  readonly #body: SubscribeBody | null | undefined;
  readonly #fetch: FetchLike;
  readonly #options: SubscribeOptions;
  readonly #decode: ((data: string) => string) | undefined;
  readonly #factor: number;
  readonly #maxDelay: number;
  readonly #jitter: number;
  readonly #maxAttempts: number;
  readonly #parser: EventStreamParser;
  readonly #controller = new AbortController(); // Aborts when the subscription ends.
  #connection: AbortController | undefined; // Aborts the current request and its body.
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;
  #external: AbortSignal | undefined;
  #onExternalAbort: (() => void) | undefined;

  #state: SubscriptionState = "connecting";
  #error: unknown = undefined;
  #failed = false; // Ended with #error (which may itself be undefined, if that was thrown).
  #errorDelivered = false;
  #reconnectionTime: number;
  #failures = 0; // Reconnections in a row that did not open a stream.
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #batch: (SSEMessage | ParseError)[] = [];

  // Iteration.
  #iterating = false;
  #queue: SSEMessage[] = [];
  #head = 0;
  #waiters: { resolve: (result: IteratorResult<SSEMessage, undefined>) => void; reject: (error: unknown) => void }[] = [];
  #room: (() => void) | undefined;

  constructor(input: string | URL, options: SubscribeOptions) {
    if (typeof input !== "string" && !(input instanceof URL)) {
      throw new TypeError(`Cannot subscribe: the URL must be a string or a URL, got ${input === null ? "null" : typeof input}`);
    }
    if (options === null || typeof options !== "object") {
      throw new TypeError(`Cannot subscribe: options must be an object, got ${options === null ? "null" : typeof options}`);
    }
    for (const name of ["fetch", "onOpen", "onMessage", "onError", "onRetry"] as const) checkFunction(name, options[name]);
    const fetch = options.fetch ?? (globalThis.fetch as FetchLike | undefined);
    if (typeof fetch !== "function") {
      throw new TypeError("Cannot subscribe: this runtime has no global fetch, and no \"fetch\" option was given");
    }
    const retry = options.retry ?? DEFAULT_RETRY;
    checkNumber("retry", retry, 0);
    const backoff = options.backoff ?? {};
    this.#factor = backoff.factor ?? 2;
    this.#maxDelay = backoff.maxDelay ?? 30_000;
    this.#jitter = backoff.jitter ?? 0.2;
    this.#maxAttempts = backoff.maxAttempts ?? 10;
    checkNumber("backoff.factor", this.#factor, 1);
    checkNumber("backoff.maxDelay", this.#maxDelay, 0);
    checkNumber("backoff.jitter", this.#jitter, 0, 1);
    checkNumber("backoff.maxAttempts", this.#maxAttempts, 0);
    const decode = options.decode;
    if (decode !== undefined && decode !== "base64" && typeof decode !== "function") {
      throw new TypeError(`Cannot subscribe: "decode" must be "base64" or a function, got ${JSON.stringify(decode)}`);
    }
    const method = options.method ?? (options.body == null ? "GET" : "POST");
    if (typeof method !== "string") {
      throw new TypeError(`Cannot subscribe: "method" must be a string, got ${typeof method}`);
    }
    if (options.body != null && /^(GET|HEAD)$/i.test(method)) {
      throw new TypeError(`Cannot subscribe: a request with a body cannot use the method ${JSON.stringify(method)}`);
    }
    const lastEventId = options.lastEventId ?? "";
    if (typeof lastEventId !== "string") {
      throw new TypeError(`Cannot subscribe: "lastEventId" must be a string, got ${typeof lastEventId}`);
    }
    if (/[\r\n\0]/.test(lastEventId)) {
      throw new TypeError(`Cannot subscribe: "lastEventId" must not contain CR, LF or NUL, got ${JSON.stringify(lastEventId)}`);
    }
    if (options.maxEventSize !== undefined) checkNumber("maxEventSize", options.maxEventSize, 1);
    this.#url = input;
    this.#method = method;
    this.#headers = new Headers(options.headers);
    this.#body = options.body;
    this.#fetch = fetch;
    this.#options = options;
    this.#decode = decode === "base64" ? decodeBase64 : decode;
    this.#reconnectionTime = retry;
    this.#parser = createParser({
      lastEventId,
      maxEventSize: options.maxEventSize,
      onEvent: (message) => this.#batch.push(message),
      onError: (error) => this.#batch.push(error),
      // [spec] If the field value consists of only ASCII digits, then … set the event stream's
      // reconnection time to that integer.
      onRetry: (ms) => {
        this.#reconnectionTime = ms;
      },
    });
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const signal = options.signal;
    if (signal?.aborted) {
      this.#finish(true, signal.reason, true);
      return;
    }
    if (signal) {
      this.#external = signal;
      this.#onExternalAbort = () => this.#finish(true, signal.reason, true);
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
    this.#finish(false, undefined, true);
  }

  [Symbol.asyncIterator](): AsyncIterator<SSEMessage, undefined> {
    if (this.#iterating) throw new TypeError("Cannot iterate subscription: it is already being iterated");
    this.#iterating = true;
    return {
      next: () => this.#next(),
      return: () => {
        this.close();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  #next(): Promise<IteratorResult<SSEMessage, undefined>> {
    if (this.#head < this.#queue.length) {
      const value = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as never;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      if (this.#room && this.#queue.length - this.#head < HIGH_WATER_MARK) {
        const room = this.#room;
        this.#room = undefined;
        room();
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.#state === "closed") {
      if (this.#failed && !this.#errorDelivered) {
        this.#errorDelivered = true;
        return Promise.reject(this.#error);
      }
      return Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
  }

  /**
   * Ends the subscription, once: `failed` with `error`, or normally. `drop` discards the messages
   * not yet iterated (close and abort stop at once; a failure lets the loop take what came
   * before it).
   */
  #finish(failed: boolean, error: unknown, drop: boolean): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#failed = failed;
    this.#error = failed ? error : undefined;
    if (drop) {
      this.#queue = [];
      this.#head = 0;
    }
    this.#batch = [];
    this.#controller.abort();
    this.#connection?.abort();
    this.#connection = undefined;
    this.#reader?.cancel().catch(noop);
    this.#reader = undefined;
    if (this.#external && this.#onExternalAbort) {
      this.#external.removeEventListener("abort", this.#onExternalAbort);
    }
    this.#external = undefined;
    this.#onExternalAbort = undefined;
    const room = this.#room;
    this.#room = undefined;
    room?.();
    // Waiting next() calls mean the queue is empty: the first gets the error, if any.
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      if (failed && !this.#errorDelivered) {
        this.#errorDelivered = true;
        waiter.reject(error);
      } else {
        waiter.resolve({ done: true, value: undefined });
      }
    }
    this.#resolveClosed();
  }

  get #ended(): boolean {
    return this.#state === "closed";
  }

  /** Asks `onError` what to do about `error`; ends the subscription if the answer is to stop. */
  async #decide(error: unknown, goOnByDefault: boolean): Promise<Decision> {
    let answer: unknown;
    const onError = this.#options.onError;
    if (onError) {
      try {
        answer = await onError(error);
      } catch (thrown) {
        this.#finish(true, thrown, false);
        return "stop";
      }
    }
    if (this.#ended) return "stop";
    if (answer === true || (answer !== false && goOnByDefault)) return "go-on";
    this.#finish(true, error, false);
    return "stop";
  }

  async #run(): Promise<void> {
    try {
      while (!this.#ended) {
        const failure = await this.#connect();
        if (failure === undefined || this.#ended) return;
        if ((await this.#decide(failure.error, failure.retry)) === "stop") return;
        if (failure.error instanceof ResponseError) failure.error.response.body?.cancel().catch(noop);
        if (!(await this.#wait(failure.error))) return;
      }
    } catch (error) {
      // Only a bug in this file can get here; end the subscription rather than hang.
      this.#finish(true, error, false);
    }
  }

  /**
   * Makes one connection and reads it to its end. Returns the failure to handle, or `undefined`
   * when the subscription has ended (closed, or a 204).
   */
  async #connect(): Promise<{ error: unknown; retry: boolean } | undefined> {
    const headers = new Headers(this.#headers);
    // [spec] Accept: text/event-stream; cache mode "no-store" (here: Cache-Control: no-cache,
    // which every fetch implementation sends, and proxies honour).
    if (!headers.has("accept")) headers.set("accept", "text/event-stream");
    if (!headers.has("cache-control")) headers.set("cache-control", "no-cache");
    // [spec] If the EventSource object's last event ID string is not the empty string, set
    // `Last-Event-ID` to it, encoded as UTF-8. A header value is a byte string: the UTF-8 bytes,
    // one character each, are what `Headers` accepts and what browsers send.
    const lastEventId = this.#parser.lastEventId;
    if (lastEventId !== "") headers.set("last-event-id", encodeByteString(lastEventId));
    const connection = new AbortController();
    this.#connection = connection;
    const init: FetchLikeInit = { method: this.#method, headers: Object.fromEntries(headers), signal: connection.signal };
    if (this.#body != null) init.body = this.#body;
    this.#state = "connecting";

    let response: FetchLikeResponse;
    try {
      // Called as a plain function: a browser's fetch throws "Illegal invocation" when called
      // as a method of anything but the global object.
      const fetch = this.#fetch;
      response = await fetch(this.#url, init);
    } catch (cause) {
      if (this.#ended) return undefined;
      // [spec] If res is a network error, then reestablish the connection.
      return { error: new ConnectionError("fetch", { cause }), retry: true };
    }
    if (this.#ended) {
      response.body?.cancel().catch(noop);
      return undefined;
    }
    // A 204 tells the client to stop reconnecting (the standard's authoring notes): the
    // subscription ends, normally.
    if (response.status === 204) {
      response.body?.cancel().catch(noop);
      this.#finish(false, undefined, false);
      return undefined;
    }
    // [spec] If res's status is not 200, or if res's `Content-Type` is not `text/event-stream`,
    // then fail the connection.
    // The body is left unread, for whoever catches the error (an API's explanation is often
    // there); it is cancelled if the subscription retries instead.
    if (response.status !== 200 || !isEventStream(response.headers.get("content-type"))) {
      this.#connection = undefined; // Handed over with the error: ending must not abort it.
      return { error: new ResponseError(response), retry: false };
    }
    const onOpen = this.#options.onOpen;
    if (onOpen) {
      try {
        const result = onOpen(response);
        if (isPromiseLike(result)) await result;
      } catch (error) {
        response.body?.cancel().catch(noop);
        if (this.#ended) return undefined;
        return { error, retry: false };
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

  async #read(response: FetchLikeResponse): Promise<{ error: unknown; retry: boolean } | undefined> {
    // Each connection is a new stream for the parser: a partial event of the previous one is
    // dropped (as at the end of any stream), the last event id is kept.
    this.#parser.reset();
    let reader: ReadableStreamDefaultReader<Uint8Array>;
    try {
      if (!response.body) throw new TypeError("the response has no body");
      reader = response.body.getReader();
    } catch (cause) {
      return { error: new ConnectionError("read", { cause }), retry: true };
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
      return { error: new ConnectionError("read", { cause }), retry: true };
    } finally {
      if (this.#reader === reader) this.#reader = undefined;
    }
    // [spec] Once the end of the file is reached, any pending data must be discarded … the
    // user agent must then reestablish the connection (whether the body ended cleanly or not).
    this.#parser.end();
    return { error: new ConnectionError("end"), retry: true };
  }

  /** Hands the messages parsed from one chunk over, in order. Returns false once it has ended. */
  async #deliver(): Promise<boolean> {
    const batch = this.#batch;
    this.#batch = [];
    const onMessage = this.#options.onMessage;
    for (const item of batch) {
      if (this.#ended) return false;
      if (item instanceof ParseError) {
        if ((await this.#decide(item, false)) === "stop") return false;
        continue;
      }
      let message = item;
      try {
        if (this.#decode) message = { type: item.type, data: this.#decode(item.data), lastEventId: item.lastEventId };
        if (onMessage) {
          const result = onMessage(message);
          if (isPromiseLike(result)) await result;
          continue;
        }
      } catch (error) {
        if (this.#ended || (await this.#decide(error, false)) === "stop") return false;
        continue;
      }
      if (this.#ended) return false;
      this.#enqueue(message);
      if (this.#queue.length - this.#head >= HIGH_WATER_MARK) {
        await new Promise<void>((resolve) => {
          this.#room = resolve;
        });
      }
    }
    return !this.#ended;
  }

  #enqueue(message: SSEMessage): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve({ done: false, value: message });
    } else {
      this.#queue.push(message);
    }
  }

  /** Waits before reconnecting. Returns false if the subscription ended instead. */
  async #wait(error: unknown): Promise<boolean> {
    this.#state = "connecting";
    this.#failures++;
    if (this.#failures > this.#maxAttempts) {
      if (this.#maxAttempts > 0) {
        this.#finish(true, new RetryLimitError(this.#maxAttempts, { cause: error }), false);
      } else if (error instanceof ConnectionError && error.kind === "end") {
        this.#finish(false, undefined, false); // No reconnection wanted, and the server is done.
      } else {
        this.#finish(true, error, false);
      }
      return false;
    }
    // [spec] Wait a delay equal to the reconnection time of the event source. Optionally, wait
    // some more: here, backoff while reconnections keep failing, and jitter.
    const base = this.#reconnectionTime;
    const cap = Math.max(this.#maxDelay, base);
    // From the second failure in a row on, grow from at least 1 ms: a server's `retry: 0` must
    // not turn a refused connection into a busy loop.
    let delay = this.#failures === 1 ? base : Math.min(cap, Math.max(base, 1) * this.#factor ** (this.#failures - 1));
    // Jitter only adds: the standard's delay is a minimum.
    delay = Math.min(MAX_TIMER, Math.round(delay * (1 + this.#jitter * Math.random())));
    const onRetry = this.#options.onRetry;
    if (onRetry) {
      try {
        onRetry({ attempt: this.#failures, delay, error, lastEventId: this.#parser.lastEventId });
      } catch (thrown) {
        this.#finish(true, thrown, false);
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
 * normally; another status or content type, a refusal by `onOpen`, a failure that `onError`
 * stops on, or too many failed reconnections end it with an error, thrown from the `for await`
 * loop (see {@linkcode SubscribeOptions.onError}). Leaving the loop closes the connection.
 *
 * @example Iterating
 * ```ts
 * import { subscribe } from "@hertz/sse/client";
 *
 * for await (const message of subscribe("https://example.com/sse")) {
 *   console.log(message.type, message.data);
 *   if (message.type === "done") break; // Closes the connection.
 * }
 * ```
 *
 * @example A POST stream from an LLM-style API
 * ```ts
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
 * @example Callbacks
 * ```ts
 * import { ResponseError, subscribe } from "@hertz/sse/client";
 *
 * const subscription = subscribe("https://example.com/sse", {
 *   onOpen: (response) => console.log("connected", response.status),
 *   onMessage: (message) => console.log(message.data),
 *   onError: (error) => {
 *     console.warn("disconnected:", error);
 *     if (ResponseError.is(error) && error.status === 503) return true; // Retry this one too.
 *   },
 * });
 * setTimeout(() => subscription.close(), 60_000);
 * await subscription.closed;
 * ```
 */
export function subscribe(input: string | URL, options: SubscribeOptions = {}): Subscription {
  return new SubscriptionImpl(input, options);
}
