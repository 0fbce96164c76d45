/**
 * `EventGate`: typed writes validated in call order, for `SSEStream#send` and `SSEHub#publish`.
 *
 * @module
 */

import { isPromiseLike } from "../_internal/log.ts";
import type { SSEEvent } from "./event.ts";
import { checkTypedEvent, type EventMap } from "./events.ts";

type Outcome = { ok: true; event: SSEEvent } | { ok: false; error: unknown };

/**
 * Internal (used by `SSEStream` and `SSEHub`; not exported by an entry point). Keeps typed writes
 * in call order when some schemas validate asynchronously: for the stream's
 * `send()` and the hub's `publish()`. While nothing is pending and the schema is synchronous,
 * `write` runs at once, in the caller's turn (so the untyped and synchronous paths cost one
 * schema call and nothing else); otherwise each write waits for the writes called before it.
 */
export class EventGate {
  readonly #events: EventMap;
  readonly #action: string;
  readonly #serialize: ((data: unknown) => string) | undefined;
  #pending = 0;
  #tail: Promise<void> = Promise.resolve();

  /**
   * A gate for `events`; `action` starts the error messages (`"Cannot publish event"`); typed data
   * is written by `serialize` when given (it must write JSON), else by `JSON.stringify`.
   */
  constructor(events: EventMap, action = "Cannot send event", serialize?: (data: unknown) => string) {
    this.#events = events;
    this.#action = action;
    this.#serialize = serialize;
  }

  /**
   * Checks `event` and calls `write` with the event to encode, after the writes passed before
   * it. Returns what `write` returns, at once when nothing had to wait, else a promise of it.
   * Throws or rejects with the {@linkcode EventValidationError}; `write` is not called then.
   */
  pass<T>(event: SSEEvent, write: (event: SSEEvent) => T): T | Promise<Awaited<T>> {
    if (this.#pending === 0) {
      const checked = checkTypedEvent(this.#events, event, this.#action, this.#serialize);
      if (!isPromiseLike(checked)) return write(checked);
      return this.#queue(checked, write);
    }
    let checked: SSEEvent | Promise<SSEEvent>;
    try {
      checked = checkTypedEvent(this.#events, event, this.#action, this.#serialize);
    } catch (error) {
      checked = Promise.reject(error);
    }
    return this.#queue(checked, write);
  }

  /**
   * The synchronous form, for `tryPublish()`: returns what `write` returns, or `undefined`
   * without calling it when earlier writes are still pending (calling it now would reorder
   * events). Throws the {@linkcode EventValidationError}, and a `TypeError` when the schema
   * validates asynchronously (`what` names the asynchronous method to use instead).
   */
  passNow<T>(event: SSEEvent, write: (event: SSEEvent) => T, what = "publish()"): T | undefined {
    if (this.#pending > 0) return undefined;
    const checked = checkTypedEvent(this.#events, event, this.#action, this.#serialize);
    if (isPromiseLike(checked)) {
      checked.then(undefined, () => {}); // The answer is the TypeError below.
      throw new TypeError(
        `${this.#action} ${JSON.stringify(event.event ?? "message")}: its schema validates asynchronously, use ${what}`,
      );
    }
    return write(checked);
  }

  #queue<T>(checked: SSEEvent | Promise<SSEEvent>, write: (event: SSEEvent) => T): Promise<Awaited<T>> {
    this.#pending++;
    // Settled into an outcome at once, so that a rejection waiting for its turn is not reported
    // as unhandled.
    const outcome: Promise<Outcome> = Promise.resolve(checked).then(
      (event) => ({ ok: true, event }),
      (error: unknown) => ({ ok: false, error }),
    );
    const called = this.#tail
      .then(() => outcome)
      .then((result): { value: T } | { error: unknown } => {
        if (!result.ok) return { error: result.error };
        try {
          return { value: write(result.event) };
        } catch (error) {
          return { error };
        }
      });
    // The next write waits until this one is called, not until it resolves: a write that waits
    // for room (backpressure, a backplane's acknowledgement) must not hold the others back more
    // than it would untyped.
    this.#tail = called.then(() => {
      this.#pending--;
    });
    return called.then((result) => ("error" in result ? Promise.reject(result.error) : (result.value as Awaited<T>)));
  }
}
