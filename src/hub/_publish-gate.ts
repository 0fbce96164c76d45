/**
 * The hub's publish gate: at most `maxPending` publishes in flight to the backplane, the others
 * waiting for a slot in order.
 *
 * @module
 */

interface Waiter {
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
  #inflight = 0;
  #waiters: Waiter[] = [];
  /** {@linkcode release} as a function value, made once. */
  readonly releaseFn = (): void => this.release();

  constructor(maxPending: number) {
    this.#maxPending = maxPending;
  }

  /** Takes a slot if one is free. */
  tryAcquire(): boolean {
    if (this.#inflight >= this.#maxPending) return false;
    this.#inflight++;
    return true;
  }

  /** Resolves once a slot is taken: `undefined` when one was free at once, which saves a promise turn. */
  acquire(): Promise<void> | undefined {
    if (this.tryAcquire()) return undefined;
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
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
