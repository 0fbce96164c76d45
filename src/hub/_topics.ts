/**
 * The hub's live topics: which subscribers follow each, the backplane subscription that feeds it,
 * and the fan-out of one entry to all of them.
 *
 * @module
 */

import { _record, type SSEMetrics } from "../core/metrics.ts";
import { frameOf } from "./_frame.ts";
import type { HubSubscriber } from "./_subscriber.ts";
import type { Backplane, BackplaneEntry, BackplaneSubscription } from "./backplane.ts";

class Topic {
  readonly subscribers = new Set<HubSubscriber>();
  subscription: BackplaneSubscription | undefined = undefined;
  /** How many of the subscribers span several groups (and get their own `id:` line). */
  compound = 0;
  /** The id of the last entry delivered, where a subscriber spanning several groups that joins now starts. */
  lastId: string | undefined = undefined;
}

/** The topics that have subscribers; a topic lives while it has one. */
export class TopicTable {
  readonly #topics = new Map<string, Topic>();
  readonly #backplane: Backplane;
  readonly #onError: (error: unknown) => void;
  readonly #deliver = (entry: BackplaneEntry): void => this.deliver(entry);

  readonly #metrics: SSEMetrics | undefined;

  constructor(backplane: Backplane, onError: (error: unknown) => void, metrics?: SSEMetrics) {
    this.#backplane = backplane;
    this.#onError = onError;
    this.#metrics = metrics;
  }

  /** How many topics have subscribers. */
  get size(): number {
    return this.#topics.size;
  }

  /** The names of the topics that have subscribers. */
  names(): IterableIterator<string> {
    return this.#topics.keys();
  }

  /** Whether `name` has subscribers. */
  has(name: string): boolean {
    return this.#topics.has(name);
  }

  /** The subscribers of `name`. */
  subscribers(name: string): ReadonlySet<HubSubscriber> | undefined {
    return this.#topics.get(name)?.subscribers;
  }

  /** The promise after which live delivery of `name` has started, if it has not yet. */
  readyOf(name: string): Promise<void> | undefined {
    return this.#topics.get(name)?.subscription?.ready;
  }

  /** The id of the last entry of `name` delivered here, if any. */
  lastIdOf(name: string): string | undefined {
    return this.#topics.get(name)?.lastId;
  }

  /** Adds `subscriber` to `name`, subscribing to the backplane when the topic comes to life. */
  join(name: string, subscriber: HubSubscriber): void {
    let topic = this.#topics.get(name);
    if (topic === undefined) {
      topic = new Topic();
      this.#topics.set(name, topic);
      topic.subscribers.add(subscriber);
      if (subscriber.compound !== undefined) topic.compound++;
      if (this.#metrics !== undefined) _record(this.#metrics, "topicCreated");
      topic.subscription = this.#backplane.subscribe(name, this.#deliver);
      return;
    }
    topic.subscribers.add(subscriber);
    if (subscriber.compound !== undefined) topic.compound++;
  }

  /** Removes `subscriber` from its topics; a topic left without subscribers leaves the backplane. */
  leave(subscriber: HubSubscriber): void {
    for (const name of subscriber.topics) {
      const topic = this.#topics.get(name);
      if (topic === undefined || !topic.subscribers.delete(subscriber)) continue;
      if (subscriber.compound !== undefined) topic.compound--;
      if (topic.subscribers.size === 0) {
        this.#topics.delete(name);
        if (this.#metrics !== undefined) _record(this.#metrics, "topicDeleted");
        topic.subscription?.unsubscribe();
      }
    }
  }

  /** The fan-out: one entry from the backplane, encoded once, to every subscriber of its topic. */
  deliver(entry: BackplaneEntry): void {
    const topic = this.#topics.get(entry.topic);
    if (topic === undefined) return;
    let frame: Uint8Array;
    try {
      frame = frameOf(entry);
    } catch (error) {
      this.#onError(error);
      return;
    }
    const id = entry.id;
    topic.lastId = id;
    if (topic.compound === 0) {
      for (const subscriber of topic.subscribers) subscriber.push(frame, id);
      return;
    }
    // Subscribers spanning several groups share the bytes too; only their `id:` line is their own.
    for (const subscriber of topic.subscribers) {
      if (subscriber.compound === undefined) subscriber.push(frame, id);
      else subscriber.pushEntry(entry, frame);
    }
  }
}
