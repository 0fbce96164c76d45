/**
 * `EventSource`: the standard interface, built on {@linkcode subscribe}, for runtimes that lack
 * one (Node.js, Bun, Cloudflare Workers) or where its limits get in the way.
 *
 * @module
 */
import type { EventMap, EventName, EventOutput } from "../core/events.ts";
import { ConnectionError } from "./errors.ts";
import type { FetchLike, FetchLikeInit } from "./fetch-like.ts";
import { type Subscription, subscribe } from "./subscribe.ts";
import type { MessageChoice } from "./subscribe-options.ts";

/** The names of the events of `M`, or `never` for an untyped `EventSource`. */
export type EventSourceEventName<M extends EventMap | undefined> = M extends EventMap ? EventName<M> : never;

/**
 * The `data` of a `MessageEvent` of type `K` dispatched by an `EventSource` typed by `M`: the
 * schema's output; `any`, as the DOM types have it, when untyped or when `K` is not in `M`.
 */
// The DOM's MessageEvent data is `any`, and an untyped EventSource must stay assignable to it.
export type EventSourceData<M extends EventMap | undefined, K extends string> = M extends EventMap
  ? K extends EventName<M>
    ? EventOutput<M, K>
    : // biome-ignore lint/suspicious/noExplicitAny: as the DOM types have it
      any
  : // biome-ignore lint/suspicious/noExplicitAny: as the DOM types have it
    any;

/**
 * The init dictionary of {@linkcode EventSource}: the standard field, plus extensions. `M` is the
 * typed event map given as `events`, if any.
 */
export interface EventSourceOptions<M extends EventMap | undefined = EventMap | undefined> {
  /**
   * Whether to send credentials (cookies, HTTP authentication) with cross-origin requests:
   * `credentials: "include"` instead of `fetch`'s default `"same-origin"`.
   *
   * @default {false}
   */
  withCredentials?: boolean;
  /**
   * **Non-standard extension.** The `fetch` to connect with.
   *
   * @default {globalThis.fetch}
   */
  fetch?: FetchLike;
  /**
   * **Non-standard extension.** Extra request headers, for example `Authorization` (which the
   * standard `EventSource` cannot send).
   *
   * @default {undefined}
   */
  headers?: HeadersInit;
  /**
   * **Non-standard extension.** The typed event map (see `defineEvents`): each message's data is
   * parsed as JSON and validated, and dispatched as the `data` of its `MessageEvent`; listeners
   * added for the map's names get typed data.
   *
   * @default {undefined} (data is the string received)
   */
  events?: M;
  /**
   * **Non-standard extension.** With `events`: what to do with a message whose data is not JSON
   * or fails its schema. `"throw"` fails the connection for good (`CLOSED`, then an `error`
   * event); `"skip"` drops it; `"pass"` dispatches it with its data as received.
   *
   * @default {"throw"}
   */
  onInvalid?: MessageChoice;
  /**
   * **Non-standard extension.** With `events`: what to do with a message whose type is not in
   * the map (as `onInvalid`).
   *
   * @default {"skip"}
   */
  onUnknown?: MessageChoice;
}

/** The events of an {@linkcode EventSource} and their types; named events are `MessageEvent`s too. */
export interface EventSourceEventMap {
  /** The connection failed (`readyState` is `CLOSED`) or is being re-established (`CONNECTING`). */
  error: Event;
  /** A message without an `event:` field. */
  message: MessageEvent;
  /** The connection opened. */
  open: Event;
}

/**
 * The public face of an `EventSource`, which this class and the DOM's both have: the `this` of
 * handlers and listeners. (The class itself cannot be: its private state would make the DOM's
 * `EventSource` unfit as a `this`, and so the class unfit where a DOM `EventSource` is expected.)
 */
export interface EventSourceLike extends EventTarget {
  /** `CONNECTING` (0), `OPEN` (1) or `CLOSED` (2). */
  readonly readyState: number;
  /** The URL of the event stream. */
  readonly url: string;
  /** Whether credentials are sent with cross-origin requests. */
  readonly withCredentials: boolean;
  /** Called for each `open` event. */
  onopen: ((this: EventSourceLike, event: Event) => unknown) | null;
  /** Called for each message without an `event:` field. */
  onmessage: ((this: EventSourceLike, event: MessageEvent) => unknown) | null;
  /** Called for each `error` event. */
  onerror: ((this: EventSourceLike, event: Event) => unknown) | null;
  /** Closes the connection for good. */
  close(): void;
  /** Registers a listener; named events are `MessageEvent`s. */
  addEventListener<K extends keyof EventSourceEventMap>(
    type: K,
    listener: (this: EventSourceLike, event: EventSourceEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /** Registers a listener; named events are `MessageEvent`s. */
  addEventListener(
    type: string,
    listener: (this: EventSourceLike, event: MessageEvent) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /** Registers a listener. */
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /** Removes a listener. */
  removeEventListener<K extends keyof EventSourceEventMap>(
    type: K,
    listener: (this: EventSourceLike, event: EventSourceEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  /** Removes a listener. */
  removeEventListener(
    type: string,
    listener: (this: EventSourceLike, event: MessageEvent) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  /** Removes a listener. */
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  /** 0 */
  readonly CONNECTING: 0;
  /** 1 */
  readonly OPEN: 1;
  /** 2 */
  readonly CLOSED: 2;
}

type Handler<E extends Event> = ((this: EventSourceLike, event: E) => unknown) | null;
type HandlerName = "open" | "message" | "error";

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;

/** Resolves `url` against the page's URL where there is one (browsers, Deno with `--location`). */
function resolve(url: string | URL): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return new URL(url, base).href;
  } catch {
    throw new DOMException(`Cannot create EventSource: invalid URL, got ${JSON.stringify(String(url))}`, "SyntaxError");
  }
}

/**
 * The standard `EventSource`: connects to `url`, dispatches a `MessageEvent` for each message
 * (type `message`, or the stream's `event:` name), reconnects when the connection is lost
 * (`Last-Event-ID`, the server's `retry:`), and stops for good on a response that is not an event
 * stream. It is assignable wherever the DOM's `EventSource` type is expected.
 *
 * Built on {@linkcode subscribe}: reconnections back off while they keep failing (the standard
 * allows waiting longer than the reconnection time), and never give up, as the standard's do not.
 * An event larger than 16 Mi characters fails the connection. The `fetch` and `headers` init
 * fields are non-standard extensions.
 *
 * @example Usage
 * ```ts
 * import { EventSource } from "@hertz/sse/client";
 *
 * const source = new EventSource("https://example.com/sse");
 * source.onmessage = (event) => console.log(event.data, event.lastEventId);
 * source.addEventListener("price", (event) => console.log("price", event.data));
 * source.onerror = () => {
 *   if (source.readyState === EventSource.CLOSED) console.log("gave up");
 * };
 * ```
 *
 * @example Extensions: headers and fetch
 * ```ts
 * import { EventSource } from "@hertz/sse/client";
 *
 * const source = new EventSource("https://example.com/sse", {
 *   headers: { Authorization: "Bearer token" },
 *   fetch: (input, init) => fetch(input, { ...init, keepalive: false }),
 * });
 * ```
 */
export class EventSource<M extends EventMap | undefined = undefined> extends EventTarget {
  /** The connection has not been made yet, or is being re-established. */
  static readonly CONNECTING: 0 = CONNECTING;
  /** The connection is open and dispatching events. */
  static readonly OPEN: 1 = OPEN;
  /** The connection failed for good, or `close()` was called. */
  static readonly CLOSED: 2 = CLOSED;
  /** The connection has not been made yet, or is being re-established. */
  declare readonly CONNECTING: 0;
  /** The connection is open and dispatching events. */
  declare readonly OPEN: 1;
  /** The connection failed for good, or `close()` was called. */
  declare readonly CLOSED: 2;

  readonly #url: string;
  readonly #withCredentials: boolean;
  readonly #subscription: Subscription;
  #readyState: number = CONNECTING;
  #origin = "";
  readonly #handlers: { [K in HandlerName]: Handler<EventSourceEventMap[K]> } = { open: null, message: null, error: null };
  readonly #listeners: { [K in HandlerName]?: (event: Event) => void } = {};

  /**
   * Connects to `url` (resolved against the page's URL, if any). Throws a `SyntaxError`
   * `DOMException` if it is not a valid URL.
   */
  constructor(url: string | URL, init?: EventSourceOptions<M>) {
    super();
    this.#url = resolve(url);
    this.#withCredentials = Boolean(init?.withCredentials);
    const fetch = init?.fetch ?? (globalThis.fetch as FetchLike);
    this.#subscription = subscribe(this.#url, {
      // [spec] Set request's credentials mode to "include" if withCredentials (else the default,
      // "same-origin", which some fetch implementations refuse to be told explicitly).
      fetch: this.#withCredentials ? (input, i) => fetch(input, { ...i, credentials: "include" } as FetchLikeInit) : fetch,
      headers: init?.headers,
      events: init?.events,
      onInvalid: init?.onInvalid,
      onUnknown: init?.onUnknown,
      backoff: { maxAttempts: Number.POSITIVE_INFINITY },
      onOpen: (response) => {
        // [spec] Announce the connection: if readyState is not CLOSED, set it to OPEN and fire
        // an event named open. (The subscription calls nothing once it is closed.)
        this.#origin = new URL(response.url || this.#url).origin;
        this.#readyState = OPEN;
        this.dispatchEvent(new Event("open"));
      },
      onMessage: (message) => {
        // [spec] Initialize event's type attribute to "message" (or the event type buffer), its
        // data to data, its origin to the serialization of the origin of the event stream's
        // final URL, and its lastEventId to the last event ID string of the event source.
        this.dispatchEvent(
          new MessageEvent(message.type, { data: message.data, lastEventId: message.lastEventId, origin: this.#origin }),
        );
      },
      // [spec] A network error or the end of the body: reestablish the connection. Anything else
      // (a status other than 200, another content type): fail the connection.
      shouldRetry: (error) => ConnectionError.is(error),
      onRetry: () => {
        // [spec] Reestablish the connection: if readyState is CLOSED, abort; set readyState to
        // CONNECTING; fire an event named error; wait the reconnection time.
        this.#readyState = CONNECTING;
        this.dispatchEvent(new Event("error"));
      },
    });
    void this.#subscription.closed.then(() => {
      // [spec] Fail the connection: if readyState is not CLOSED, set it to CLOSED and fire an
      // event named error. (A 204 response ends here too.)
      if (this.#readyState === CLOSED) return;
      this.#readyState = CLOSED;
      this.dispatchEvent(new Event("error"));
    });
  }

  /** The URL of the event stream, resolved. */
  get url(): string {
    return this.#url;
  }

  /** Whether credentials are sent with cross-origin requests. */
  get withCredentials(): boolean {
    return this.#withCredentials;
  }

  /** `CONNECTING` (0), `OPEN` (1) or `CLOSED` (2). */
  get readyState(): number {
    return this.#readyState;
  }

  /** Called for each `open` event. */
  get onopen(): ((this: EventSourceLike, event: Event) => unknown) | null {
    return this.#handlers.open;
  }
  set onopen(handler: ((this: EventSourceLike, event: Event) => unknown) | null) {
    this.#setHandler("open", handler);
  }

  /** Called for each message without an `event:` field (type `message`). */
  get onmessage(): ((this: EventSourceLike, event: MessageEvent<EventSourceData<M, "message">>) => unknown) | null {
    return this.#handlers.message;
  }
  set onmessage(handler: ((this: EventSourceLike, event: MessageEvent<EventSourceData<M, "message">>) => unknown) | null) {
    this.#setHandler("message", handler);
  }

  /** Called for each `error` event: a reconnection (`CONNECTING`) or the end (`CLOSED`). */
  get onerror(): ((this: EventSourceLike, event: Event) => unknown) | null {
    return this.#handlers.error;
  }
  set onerror(handler: ((this: EventSourceLike, event: Event) => unknown) | null) {
    this.#setHandler("error", handler);
  }

  /** Closes the connection for good: `readyState` becomes `CLOSED` and no event follows. */
  close(): void {
    this.#readyState = CLOSED;
    this.#subscription.close();
  }

  /** Registers a listener for `open`, `message` or `error`. */
  override addEventListener<K extends keyof EventSourceEventMap>(
    type: K,
    listener: (this: EventSourceLike, event: EventSourceEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /** Registers a listener for an event of the typed map: its `data` is the schema's output. */
  override addEventListener<K extends EventSourceEventName<M>>(
    type: K,
    listener: (this: EventSourceLike, event: MessageEvent<EventSourceData<M, K>>) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /** Registers a listener for a named event (`event: price`): a `MessageEvent` of that type. */
  override addEventListener(
    type: string,
    listener: (this: EventSourceLike, event: MessageEvent) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /** Registers a listener, as `EventTarget` does. */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(type: string, listener: unknown, options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  /** Removes a listener added for `open`, `message` or `error`. */
  override removeEventListener<K extends keyof EventSourceEventMap>(
    type: K,
    listener: (this: EventSourceLike, event: EventSourceEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  /** Removes a listener added for an event of the typed map. */
  override removeEventListener<K extends EventSourceEventName<M>>(
    type: K,
    listener: (this: EventSourceLike, event: MessageEvent<EventSourceData<M, K>>) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  /** Removes a listener added for a named event. */
  override removeEventListener(
    type: string,
    listener: (this: EventSourceLike, event: MessageEvent) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  /** Removes a listener, as `EventTarget` does. */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(type: string, listener: unknown, options?: boolean | EventListenerOptions): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  /**
   * Sets an `on…` handler as the platform does: the first handler set adds one listener, in
   * order with the others; replacing the handler keeps that place; `null` removes it.
   */
  #setHandler<K extends HandlerName>(type: K, handler: Handler<EventSourceEventMap[K]>): void {
    const value = typeof handler === "function" ? handler : null;
    (this.#handlers as Record<HandlerName, unknown>)[type] = value;
    const listener = this.#listeners[type];
    if (value === null) {
      if (listener) {
        super.removeEventListener(type, listener);
        delete this.#listeners[type];
      }
    } else if (!listener) {
      const added = (event: Event): void => {
        const current = this.#handlers[type] as ((this: EventSourceLike, event: Event) => unknown) | null;
        current?.call(this, event);
      };
      this.#listeners[type] = added;
      super.addEventListener(type, added);
    }
  }
}

// The constants are on the prototype too, as the standard defines them for instances.
for (const [name, value] of [
  ["CONNECTING", CONNECTING],
  ["OPEN", OPEN],
  ["CLOSED", CLOSED],
] as const) {
  Object.defineProperty(EventSource.prototype, name, { value, enumerable: true });
}
