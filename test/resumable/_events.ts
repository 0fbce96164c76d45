/**
 * Reads an event-stream response with the project's parser, for the resumable tests: messages as
 * they come, comments, the end; waits for a condition instead of sleeping.
 */
import type { SSEMessage } from "../../src/core/event.ts";
import { createParser } from "../../src/parser/index.ts";

export class EventReader {
  readonly messages: SSEMessage[] = [];
  readonly comments: string[] = [];
  /** The text of the first chunk. */
  first: string | undefined;
  done = false;
  error: unknown;
  readonly ended: Promise<void>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #waiters: { test: () => boolean; resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(response: Response) {
    if (response.status !== 200) throw new Error(`expected 200, got ${response.status}`);
    const reader = response.body!.getReader();
    this.#reader = reader;
    const parser = createParser({
      onEvent: (message) => {
        this.messages.push(message);
        this.#check();
      },
      onComment: (comment) => {
        this.comments.push(comment);
        this.#check();
      },
    });
    const decoder = new TextDecoder();
    this.ended = (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          this.first ??= decoder.decode(value);
          parser.feed(value);
        }
      } catch (error) {
        this.error = error;
      } finally {
        this.done = true;
        this.#check();
      }
    })();
  }

  get data(): string[] {
    return this.messages.map((message) => message.data);
  }

  get lastEventId(): string | undefined {
    return this.messages.at(-1)?.lastEventId;
  }

  /** Resolves once `test` holds; rejects if the stream ends first. */
  until(test: () => boolean, what = "the condition"): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.push({ test, resolve, reject: () => reject(new Error(`the stream ended before ${what}`)) });
    });
  }

  /** Stops reading, as a client that goes away. */
  cancel(): Promise<void> {
    return this.#reader.cancel();
  }

  #check(): void {
    this.#waiters = this.#waiters.filter((waiter) => {
      if (waiter.test()) {
        waiter.resolve();
        return false;
      }
      if (this.done) {
        waiter.reject(undefined);
        return false;
      }
      return true;
    });
  }
}

/** A source whose frames the test pushes: an async iterable with `push` and `end`, noticing the signal. */
export class ManualSource implements AsyncIterable<string> {
  readonly #queue: (string | Error | null)[] = [];
  #wake: (() => void) | undefined;
  signal: AbortSignal | undefined;
  aborted = false;

  push(...items: string[]): void {
    this.#queue.push(...items);
    this.#wake?.();
  }

  end(): void {
    this.#queue.push(null);
    this.#wake?.();
  }

  fail(error: Error): void {
    this.#queue.push(error);
    this.#wake?.();
  }

  /** As a function source: records the signal. */
  readonly start = (signal: AbortSignal): AsyncIterable<string> => {
    this.signal = signal;
    signal.addEventListener("abort", () => {
      this.aborted = true;
    });
    return this;
  };

  async *[Symbol.asyncIterator](): AsyncGenerator<string> {
    for (;;) {
      while (this.#queue.length === 0) await new Promise<void>((resolve) => (this.#wake = resolve));
      const item = this.#queue.shift()!;
      if (item === null) return;
      if (item instanceof Error) throw item;
      yield item;
    }
  }
}

export function request(id: string, lastEventId?: string, signal?: AbortSignal): Request {
  return new Request(`http://localhost/streams/${id}`, {
    headers: lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId },
    signal,
  });
}
