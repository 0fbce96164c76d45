/**
 * The structural types through which the client meets `fetch`: whatever implements this much of
 * `fetch` (the global one, undici's, a test double) fits.
 *
 * @module
 */

/** A request body that can be sent again on every reconnection: anything but a stream. */
export type SubscribeBody = Exclude<BodyInit, ReadableStream>;

/** What {@linkcode subscribe} passes to `fetch`: a plain object, so any fetch implementation fits. */
export interface FetchLikeInit {
  /** The request method. */
  method: string;
  /** The request headers, with lowercase names. */
  headers: Record<string, string>;
  /** The request body, if any. */
  body?: SubscribeBody | null;
  /** Aborts when the subscription closes. */
  signal: AbortSignal;
}

/** The part of a `Response` that {@linkcode subscribe} uses, so any fetch implementation fits. */
export interface FetchLikeResponse {
  /** The HTTP status. */
  readonly status: number;
  /** The response headers; only `get` is used. */
  readonly headers: { get(name: string): string | null };
  /** The body, read as UTF-8 event-stream bytes. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** The final URL, after redirects. */
  readonly url?: string;
  /** The status message. */
  readonly statusText?: string;
}

/** A `fetch` function, as much of it as {@linkcode subscribe} needs (the global one fits). */
export type FetchLike = (input: string | URL, init: FetchLikeInit) => Promise<FetchLikeResponse>;
