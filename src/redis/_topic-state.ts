/**
 * What a reader of the Redis backplane keeps per topic, and the small helpers both readers share.
 *
 * @module
 */

import type { BackplaneListener, BackplaneSubscription } from "../hub/backplane.ts";
import { compareIds, type ParsedId, parseId, RedisEntry, type TopicKeys } from "./_codec.ts";

interface Registration {
  readonly listener: BackplaneListener;
}

/** One topic a reader reads: its keys, its listeners, and the id of the last entry delivered. */
export class TopicState {
  readonly registrations = new Set<Registration>();
  /** The last id delivered (or the clock when the topic was added); undefined until then. */
  position: string | undefined = undefined;
  parsed: ParsedId | undefined = undefined;
  /** Whether the position is an entry this reader delivered (not a start taken from the clock). */
  atEntry = false;
  /** Redis refused to read the topic's key (it holds another type): it is left out of reads. */
  broken = false;
  readonly ready: Promise<void>;
  resolveReady!: () => void;
  /** History reads waiting for live delivery to reach an id. */
  waiters: { readonly id: ParsedId; readonly resolve: () => void }[] = [];

  constructor(
    readonly topic: string,
    readonly keys: TopicKeys,
  ) {
    this.ready = new Promise<void>((resolve) => {
      this.resolveReady = resolve;
    });
  }

  get key(): string {
    return this.keys.stream;
  }

  /** Takes `id` as the start: entries after it are delivered. */
  start(id: string): void {
    this.position = id;
    this.parsed = parseId(id) ?? [0, 0];
    this.atEntry = false;
    this.resolveReady();
  }

  /** Delivers an entry read from the stream, unless it is not after the position; true if it did. */
  deliver(
    id: string,
    parsed: ParsedId,
    fields: () => RedisEntry["event"],
    observe?: (id: string, parsed: ParsedId) => void,
  ): boolean {
    if (this.parsed === undefined || compareIds(parsed, this.parsed) <= 0) return false;
    observe?.(id, parsed);
    this.position = id;
    this.parsed = parsed;
    this.atEntry = true;
    const entry = new RedisEntry(this.topic, id, fields());
    for (const registration of this.registrations) {
      try {
        registration.listener(entry);
      } catch (error) {
        // One failing listener must not keep the entry from the others; surface it as an
        // uncaught error, as an EventTarget does.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    return true;
  }

  /** Resolves the waiters whose id has been delivered, or all of them. */
  release(all: boolean): void {
    if (this.waiters.length === 0) return;
    const position = this.parsed;
    this.waiters = this.waiters.filter((waiter) => {
      if (!all && (position === undefined || compareIds(waiter.id, position) > 0)) return true;
      waiter.resolve();
      return false;
    });
  }

  /**
   * Resolves once `id` has been delivered (or passed), when this topic is read and has not
   * delivered it yet; gives up after `timeout` ms.
   */
  delivered(id: string, timeout: number): Promise<void> | undefined {
    const parsed = parseId(id);
    if (this.parsed === undefined || parsed === undefined || compareIds(parsed, this.parsed) <= 0) return undefined;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeout);
      this.waiters.push({
        id: parsed,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

/**
 * The topics of a reader, and the subscription handles it returns: the first listener of a topic
 * creates its state (`added`), the last one to leave removes it (`removed`).
 */
export class TopicRegistry {
  readonly topics = new Map<string, TopicState>();

  constructor(
    readonly keysOf: (topic: string) => TopicKeys,
    readonly added: (state: TopicState) => void,
    readonly removed: (state: TopicState) => void,
  ) {}

  subscribe(topic: string, listener: BackplaneListener): BackplaneSubscription {
    let state = this.topics.get(topic);
    if (state === undefined) {
      state = new TopicState(topic, this.keysOf(topic));
      this.topics.set(topic, state);
      this.added(state);
    }
    const registration: Registration = { listener };
    state.registrations.add(registration);
    const current = state;
    let active = true;
    return {
      ready: current.position === undefined ? current.ready : undefined,
      unsubscribe: () => {
        if (!active) return;
        active = false;
        current.registrations.delete(registration);
        if (current.registrations.size > 0) return;
        if (this.topics.get(topic) === current) this.topics.delete(topic);
        current.resolveReady();
        current.release(true);
        this.removed(current);
      },
    };
  }

  /** Whether `state` is still the live state of its topic. */
  isLive(state: TopicState): boolean {
    return this.topics.get(state.topic) === state;
  }

  clear(): void {
    for (const state of this.topics.values()) {
      state.resolveReady();
      state.release(true);
    }
    this.topics.clear();
  }
}

/**
 * The reader's own backoff, for failed commands (the client reconnects on its own schedule):
 * 50 ms doubling to 5 s, each delay drawn between half and all of it.
 */
export function backoff(failures: number): number {
  const delay = Math.min(50 * 2 ** Math.min(failures - 1, 10), 5_000);
  return delay / 2 + (Math.random() * delay) / 2;
}

/** A wait that `wake()` (or its timeout) ends; what a reader's loop sleeps on. */
export class Alarm {
  #wake: (() => void) | undefined;
  #rung = false;

  /** Waits `ms` milliseconds, or (without `ms`) until woken; a ring while awake is kept. */
  sleep(ms: number | undefined): Promise<boolean> {
    if (this.#rung) {
      this.#rung = false;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wake = (rung: boolean): void => {
        if (timer !== undefined) clearTimeout(timer);
        if (this.#wake === ring) this.#wake = undefined;
        resolve(rung);
      };
      const ring = (): void => wake(true);
      this.#wake = ring;
      if (ms !== undefined) timer = setTimeout(() => wake(false), ms);
    });
  }

  /** Ends the current wait, or the next one at once. */
  wake(): void {
    if (this.#wake !== undefined) this.#wake();
    else this.#rung = true;
  }
}
