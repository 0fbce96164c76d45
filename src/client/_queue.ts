/**
 * The queue between a subscription's reader and its `for await` loop: messages wait here for
 * the loop, `next()` calls wait here for messages, and the reader waits for room once
 * `highWaterMark` messages are queued (so a slow loop pauses reading instead of buffering the
 * stream without bound).
 *
 * @module
 */

interface Waiter<T> {
  resolve: (result: IteratorResult<T, undefined>) => void;
  reject: (error: unknown) => void;
}

/** A bounded async queue that ends once, normally or with an error given to one `next()`. */
export class AsyncQueue<T> {
  readonly #highWaterMark: number;
  // An array with a moving head: shift() is O(n) on a long array; the array is dropped once
  // the head reaches its end.
  #items: T[] = [];
  #head = 0;
  #waiters: Waiter<T>[] = [];
  #room: (() => void) | undefined;
  #ended = false;
  #failed = false;
  #error: unknown = undefined;
  #errorDelivered = false;

  /** A queue that reports itself full at `highWaterMark` messages. */
  constructor(highWaterMark: number) {
    this.#highWaterMark = highWaterMark;
  }

  /** How many values wait for `next()`. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Hands `value` to the first waiting `next()`, or queues it. Ignored once ended. */
  push(value: T): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve({ done: false, value });
    else this.#items.push(value);
  }

  /**
   * Resolves once the queue is below its high-water mark (or has ended); `undefined` when it
   * already is, so that the common case costs no promise.
   */
  room(): Promise<void> | undefined {
    if (this.#ended || this.size < this.#highWaterMark) return undefined;
    return new Promise<void>((resolve) => {
      this.#room = resolve;
    });
  }

  /** The next value; `done` once ended and empty; rejects once with the error of a failed end. */
  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head]!;
      this.#items[this.#head++] = undefined as never;
      if (this.#head === this.#items.length) {
        this.#items = [];
        this.#head = 0;
      }
      if (this.#room && this.size < this.#highWaterMark) this.#wake();
      return Promise.resolve({ done: false, value });
    }
    if (this.#ended) {
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
   * Ends the queue, once: with `error` when `failed`. `drop` discards the values not yet taken
   * (a close or an abort stops at once; a failure lets the loop take what came before it).
   */
  end(failed: boolean, error: unknown, drop: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#failed = failed;
    this.#error = error;
    if (drop) {
      this.#items = [];
      this.#head = 0;
    }
    this.#wake();
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
  }

  #wake(): void {
    const room = this.#room;
    this.#room = undefined;
    room?.();
  }
}
