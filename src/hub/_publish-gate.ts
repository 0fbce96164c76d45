/**
 * The hub's publish gate: at most `maxPending` publishes in flight to the backplane, the others
 * waiting for a slot in order.
 *
 * @module
 */

interface Waiter {
  promise?: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Slots for publishes in flight. A slot is taken with {@linkcode tryAcquire} (at once or not at
 * all) or {@linkcode acquire} (waiting), and handed back with {@linkcode release}, which passes it
 * straight to the first waiter, so that publishes keep their order.
 */
export class PublishGate {
  readonly #maxPending: number;
  readonly #maxWaiting: number;
  #inflight = 0;
  #waiters: Waiter[] = [];
  /** {@linkcode release} as a function value, made once. */
  readonly releaseFn = (): void => this.release();

  constructor(maxPending: number, maxWaiting: number) {
    this.#maxPending = maxPending;
    this.#maxWaiting = maxWaiting;
  }

  /** Takes a slot if one is free. */
  tryAcquire(): boolean {
    if (this.#inflight >= this.#maxPending) return false;
    this.#inflight++;
    return true;
  }

  /** Waits for a slot (call when {@linkcode tryAcquire} failed); `undefined` when `maxWaiting` publishers wait already. */
  acquire(): Promise<void> | undefined {
    if (this.#waiters.length >= this.#maxWaiting) return undefined;
    const waiter: Waiter = { resolve: () => {}, reject: () => {} };
    const promise = new Promise<void>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    waiter.promise = promise;
    this.#waiters.push(waiter);
    return promise;
  }

  /** Gives up a place in line (the publish timed out while waiting). */
  withdraw(promise: Promise<void>): void {
    const index = this.#waiters.findIndex((waiter) => waiter.promise === promise);
    if (index !== -1) this.#waiters.splice(index, 1);
  }

  /** Hands a slot to the first waiting publisher, or frees it. */
  release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next.resolve();
    else this.#inflight--;
  }

  /** Rejects every waiting publisher with `error` (the hub is closing). */
  rejectAll(error: () => unknown): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error());
  }
}

// Promises made already settled by a synchronous backplane (the in-memory one), which need no
// timeout timer: a publish to it costs no timer at all.
const SETTLED = new WeakSet<Promise<unknown>>();

/** A promise resolved with `value`, known to {@linkcode withTimeout} as already settled. */
export function settledPromise<T>(value: T): Promise<T> {
  const promise = Promise.resolve(value);
  SETTLED.add(promise);
  return promise;
}

/**
 * `publish` bounded by `timeout` (`publishTimeout`): rejects with a `TimeoutError` `DOMException`
 * after it, and gives up `waiting`'s place in `gate`'s line.
 */
export function withTimeout<T>(
  publish: Promise<T>,
  timeout: number | false,
  gate: PublishGate,
  waiting?: Promise<void>,
): Promise<T> {
  if (timeout === false || SETTLED.has(publish)) return publish;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (waiting !== undefined) gate.withdraw(waiting);
      reject(
        new DOMException(`Cannot publish: the backplane did not answer within ${timeout} ms (publishTimeout)`, "TimeoutError"),
      );
    }, timeout);
    (timer as { unref?: () => void }).unref?.();
    publish.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
