/**
 * What a resumable stream's producer reads: any of the sources `start()` accepts, turned into one
 * async sequence of frames (`event` and `data`), ending at once when the producer aborts.
 *
 * @module
 */

import { isEventStream } from "../_internal/http.ts";
import { isPromiseLike } from "../_internal/log.ts";
import { serializeData } from "../core/encoder.ts";
import type { SSEEvent } from "../core/event.ts";
import type { BackplaneEvent } from "../hub/backplane.ts";
import { createParser } from "../parser/create-parser.ts";

/**
 * One item of a source: an event (its `event` and `data` are kept; `data` that is not a string is
 * serialised as JSON), or a string sent as `data`. Items without `data` are skipped.
 *
 * @example Usage
 * ```ts
 * import type { SourceItem } from "@hertz/sse/resumable";
 *
 * const items: SourceItem[] = ["Hel", { event: "usage", data: { tokens: 2 } }];
 * ```
 */
export type SourceItem = SSEEvent | string;

/**
 * A source's body: an upstream event-stream `Response` (parsed with the project's parser), or a
 * `ReadableStream` or (async) iterable of {@linkcode SourceItem}s.
 *
 * @example Usage
 * ```ts
 * import type { SourceBody } from "@hertz/sse/resumable";
 *
 * async function* tokens(): AsyncGenerator<string> {
 *   yield "Hel";
 *   yield "lo";
 * }
 * const body: SourceBody = tokens();
 * ```
 */
export type SourceBody = Response | ReadableStream<SourceItem> | AsyncIterable<SourceItem> | Iterable<SourceItem>;

/**
 * What `start()` takes: a body, or a function that makes one with the stream's `signal` (pass it
 * to `fetch` so that a stop cancels the upstream request).
 *
 * @example An upstream request, cancelled by a stop
 * ```ts
 * import type { ResumableSource } from "@hertz/sse/resumable";
 *
 * const source: ResumableSource = (signal) =>
 *   fetch("https://api.example.com/v1/chat/completions", { method: "POST", body: "{}", signal });
 * ```
 */
export type ResumableSource = SourceBody | ((signal: AbortSignal) => SourceBody | Promise<SourceBody>);

/** A frame as the producer publishes it. */
export type Frame = { readonly event?: string; readonly data: string };

// What a pending read resolves with when the signal aborts first.
const ABORTED: unique symbol = Symbol("aborted");

/**
 * Settles each read with its result, or with ABORTED at once when the signal aborts, so that the
 * producer ends even when the source ignores the signal (a generator awaiting a slow model).
 * One abort listener serves every read: racing each read against one long-lived promise would
 * leave a reaction on it per read, thousands per stream, until the stream ends.
 */
class Reads {
  #wake: ((value: typeof ABORTED) => void) | undefined;
  constructor(readonly signal: AbortSignal) {
    signal.addEventListener("abort", () => this.#wake?.(ABORTED), { once: true });
  }
  settle<T>(promise: PromiseLike<T>): Promise<T | typeof ABORTED> {
    if (this.signal.aborted) return Promise.resolve(ABORTED);
    return new Promise<T | typeof ABORTED>((resolve, reject) => {
      this.#wake = resolve;
      promise.then(resolve, reject);
    });
  }
}

/** What the producer does with each frame: publish it, synchronously or not. */
export type Emit = (frame: Frame) => void | Promise<void>;

/**
 * Reads the source's frames into `emit`, in order, awaiting each, until the source ends (resolves),
 * throws (rejects with its error) or `signal` aborts (resolves at once; the source is cancelled).
 */
export async function readSource(source: ResumableSource, signal: AbortSignal, maxEventSize: number, emit: Emit): Promise<void> {
  const reads = new Reads(signal);
  let body = typeof source === "function" ? source(signal) : source;
  if (isPromiseLike(body)) {
    const settled = await reads.settle(body);
    if (settled === ABORTED) return;
    body = settled;
  }
  if (signal.aborted) return;
  if (body instanceof Response) return readResponse(body, reads, maxEventSize, emit);
  if (body instanceof ReadableStream) return readItems(streamIterator(body as ReadableStream<SourceItem>), reads, emit);
  if (body !== null && typeof body === "object") {
    if (Symbol.asyncIterator in body) return readItems((body as AsyncIterable<SourceItem>)[Symbol.asyncIterator](), reads, emit);
    if (Symbol.iterator in body) return readItems((body as Iterable<SourceItem>)[Symbol.iterator](), reads, emit);
  }
  throw new TypeError(
    "Cannot start stream: the source must be a Response, a ReadableStream, an (async) iterable, or a function returning one",
  );
}

function streamIterator(stream: ReadableStream<SourceItem>): AsyncIterator<SourceItem> {
  const reader = stream.getReader();
  return {
    next: () => reader.read() as Promise<IteratorResult<SourceItem>>,
    return: async () => {
      await reader.cancel();
      return { done: true, value: undefined };
    },
  };
}

async function readItems(iterator: Iterator<SourceItem> | AsyncIterator<SourceItem>, reads: Reads, emit: Emit): Promise<void> {
  let finished = false;
  try {
    for (;;) {
      const next = iterator.next();
      const result = isPromiseLike(next) ? await reads.settle(next) : next;
      if (result === ABORTED || reads.signal.aborted) return;
      if (result.done) {
        finished = true;
        return;
      }
      const frame = toFrame(result.value);
      if (frame !== undefined) {
        const emitted = emit(frame);
        if (emitted !== undefined) await emitted;
      }
    }
  } finally {
    if (!finished && iterator.return !== undefined) {
      // Not awaited: a source stuck in a read must not hold the producer.
      Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => {});
    }
  }
}

function toFrame(item: SourceItem): Frame | undefined {
  if (typeof item === "string") return { data: item };
  if (item === null || typeof item !== "object") {
    throw new TypeError(`Cannot relay the source's item: expected an event object or a string, got ${typeof item}`);
  }
  if (item.data === undefined) return undefined;
  const data = serializeData(item.data);
  return item.event === undefined || item.event === "message" ? { data } : { event: item.event, data };
}

async function readResponse(response: Response, reads: Reads, maxEventSize: number, emit: Emit): Promise<void> {
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw new TypeError(`Cannot relay the upstream response: it answered ${response.status}`);
  }
  if (!isEventStream(response.headers.get("content-type"))) {
    await response.body?.cancel().catch(() => {});
    throw new TypeError(
      `Cannot relay the upstream response: its Content-Type is ${JSON.stringify(response.headers.get("content-type"))}, not text/event-stream`,
    );
  }
  if (response.body === null) return;
  const reader = response.body.getReader();
  const frames: Frame[] = [];
  let failure: unknown;
  const parser = createParser({
    maxEventSize,
    onEvent: (message) => {
      frames.push(message.type === "message" ? { data: message.data } : { event: message.type, data: message.data });
    },
    onError: (error) => {
      failure ??= error;
    },
  });
  let finished = false;
  // An abort cancels the reader, which settles a pending read as done: no promise per read to
  // race it with.
  const cancel = (): void => void reader.cancel().catch(() => {});
  reads.signal.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const result = await reader.read();
      if (reads.signal.aborted) return;
      if (result.done) {
        parser.end();
        finished = true;
        break;
      }
      parser.feed(result.value);
      if (failure !== undefined) throw failure;
      // The parser calls back synchronously; frames are published in order, one at a time.
      for (let i = 0; i < frames.length; i++) {
        const emitted = emit(frames[i]!);
        if (emitted !== undefined) await emitted;
      }
      frames.length = 0;
    }
  } finally {
    reads.signal.removeEventListener("abort", cancel);
    if (!finished) reader.cancel().catch(() => {});
  }
}

/** Turns a terminal frame returned by a user's function into what the backplane stores. */
export function toBackplaneFrame(event: SSEEvent | undefined): BackplaneEvent | undefined {
  if (event === undefined || event === null) return undefined;
  const data = event.data === undefined ? "" : serializeData(event.data);
  return event.event === undefined ? { data } : { event: event.event, data };
}
