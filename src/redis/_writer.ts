/**
 * The writing side of the Redis backplane, on the application's own client: publishing (one
 * script per event) and history reads (one script per hash slot involved).
 *
 * @module
 */

import type { BackplaneEvent, BackplaneHistory } from "../hub/backplane.ts";
import {
  compareIds,
  decodeFields,
  encodeFields,
  entriesOf,
  mergeById,
  type ParsedId,
  parseCompoundId,
  parseId,
  RedisEntry,
  SLOTS,
  slotOfId,
  type TopicKeys,
} from "./_codec.ts";
import { type Call, evalScript, HISTORY, PUBLISH } from "./_scripts.ts";
import { redisError } from "./redis-backplane-error.ts";

export interface WriterSettings {
  readonly call: Call;
  readonly cluster: boolean;
  readonly keysOf: (topic: string) => TopicKeys;
  readonly maxEvents: number;
  /** -1 for none. */
  readonly maxAge: number;
  /** The stream keys' time to live, -1 for none. */
  readonly ttl: number;
  readonly slack: number;
  /** The most slots a compound `Last-Event-ID` may name. */
  readonly maxIdParts: number;
  /** Waits until this instance's reader has delivered `id` of `topic`, if it reads it. */
  readonly delivered: (topic: string, id: string) => Promise<void> | undefined;
}

type SlotAnswer =
  | { readonly gone: true; readonly lastId: string | undefined }
  | { readonly gone: false; readonly entries: RedisEntry[][] };

export class RedisWriter {
  readonly #settings: WriterSettings;
  /**
   * On a cluster, the newest id this instance has published or delivered. Each publish gets an id
   * above it, whichever slot's clock issues it, so that what one instance publishes in turn (a
   * resumable stream's head, then its frames) and what it publishes after it saw an event are in
   * id order across slots too.
   */
  #floor: ParsedId | undefined;
  #floorText = "";

  constructor(settings: WriterSettings) {
    this.#settings = settings;
  }

  publish(topic: string, event: BackplaneEvent): Promise<string> {
    const settings = this.#settings;
    const keys = settings.keysOf(topic);
    const [step, base] = settings.cluster ? [SLOTS, keys.slot] : [1, 0];
    const floor = settings.cluster ? this.#floorText : "";
    const args = [
      settings.maxEvents,
      settings.maxAge,
      settings.ttl,
      settings.slack,
      step,
      base,
      keys.channel,
      floor,
      ...encodeFields(event),
    ];
    return evalScript(settings.call, PUBLISH, [keys.clock, keys.stream], args).then(
      (reply) => {
        const id = String(reply);
        if (settings.cluster) this.observe(id);
        return id;
      },
      (error: unknown) => {
        throw redisError("Cannot publish", error);
      },
    );
  }

  /** Raises the floor of later publishes to `id` (cluster only). */
  observe(id: string, parsed: ParsedId | undefined = parseId(id)): void {
    if (parsed === undefined || (this.#floor !== undefined && compareIds(parsed, this.#floor) <= 0)) return;
    this.#floor = parsed;
    this.#floorText = id;
  }

  history(topics: readonly string[], afterId: string): Promise<BackplaneHistory> {
    const settings = this.#settings;
    // On a single Redis one clock orders every topic: one script. On a cluster, one per slot.
    const bySlot = new Map<number, { clock: string; topics: string[]; streams: string[] }>();
    for (const topic of topics) {
      const keys = settings.keysOf(topic);
      let group = bySlot.get(keys.slot);
      if (group === undefined) bySlot.set(keys.slot, (group = { clock: keys.clock, topics: [], streams: [] }));
      group.topics.push(topic);
      group.streams.push(keys.stream);
    }
    const positions = settings.cluster
      ? parseCompoundId(afterId, settings.maxIdParts)
      : [parseId(afterId)].filter((id) => id !== undefined);
    const newest = positions?.reduce<ParsedId | undefined>(
      (a, b) => (a === undefined || compareIds(a, b) < 0 ? b : a),
      undefined,
    );
    const answers: Promise<SlotAnswer>[] = [];
    for (const [slot, group] of bySlot) {
      // The slot's own position when the id names one; else the newest named position, as a
      // point in time (see the class: exact only for the slots the id names).
      const own = settings.cluster ? positions?.find((id) => slotOfId(id) === slot) : positions?.[0];
      const after = own ?? newest;
      const text = after === undefined ? afterId : `${after[0]}-${after[1]}`;
      const args = [text, settings.maxAge, settings.ttl, own !== undefined || !settings.cluster ? "1" : "0"];
      answers.push(
        evalScript(settings.call, HISTORY, [group.clock, ...group.streams], args).then((reply) =>
          this.#answer(group.topics, reply),
        ),
      );
    }
    return Promise.all(answers).then(
      (results) => this.#merge(results),
      (error: unknown) => {
        throw redisError("Cannot read history", error);
      },
    );
  }

  #answer(topics: readonly string[], reply: unknown): SlotAnswer {
    const result = reply as unknown[];
    if (result[0] !== "ok")
      return { gone: true, lastId: typeof result[1] === "string" && result[1] !== "" ? result[1] : undefined };
    const lists: RedisEntry[][] = [];
    for (const [i, topic] of topics.entries()) {
      const list = entriesOf(result[i + 2]).map(([id, fields]) => new RedisEntry(topic, id, decodeFields(fields)));
      if (list.length > 0) lists.push(list);
    }
    return { gone: false, entries: lists };
  }

  /**
   * Merges the slots' answers. History is read on the main connection and may be ahead of the
   * reader: for the topics this instance reads, the answer waits (at most `blockTimeout`) until
   * the reader has delivered its newest entry, so that a hub, which holds live entries back during
   * a replay and skips those the replay contains, never sends one twice.
   */
  #merge(results: readonly SlotAnswer[]): BackplaneHistory | Promise<BackplaneHistory> {
    if (results.some((result) => result.gone)) {
      let lastId: string | undefined;
      let newest: ParsedId | undefined;
      for (const result of results) {
        const ids = result.gone ? [result.lastId] : result.entries.map((list) => list[list.length - 1]!.id);
        for (const id of ids) {
          const parsed = id === undefined ? undefined : parseId(id);
          if (parsed !== undefined && (newest === undefined || compareIds(newest, parsed) < 0)) [newest, lastId] = [parsed, id];
        }
      }
      return lastId === undefined ? { gone: true } : { gone: true, lastId };
    }
    const lists = results.flatMap((result) => (result.gone ? [] : result.entries));
    const delivered: Promise<void>[] = [];
    for (const list of lists) {
      const last = list[list.length - 1]!;
      const waiting = this.#settings.delivered(last.topic, last.id);
      if (waiting !== undefined) delivered.push(waiting);
    }
    const history: BackplaneHistory = { gone: false, entries: mergeById(lists) };
    return delivered.length === 0 ? history : Promise.all(delivered).then(() => history);
  }
}
