/**
 * The reader of the Redis backplane on Redis Cluster. A blocking `XREAD` cannot span slots, and
 * one connection per slot would not scale with topics, so each slot the instance reads has a
 * doorbell: the publish script `SPUBLISH`es the new id on the slot's shard channel, which Redis
 * delivers from the slot's own primary (no cluster-wide broadcast). A ring makes the reader
 * `XREAD` that slot's streams (one command per slot, all sent at once, so pipelined per primary),
 * without blocking. Every `blockTimeout` it reads every slot anyway and checks for losses, which
 * also covers a ring missed while a shard subscriber reconnected.
 *
 * @module
 */

import type { BackplaneListener, BackplaneSubscription } from "../hub/backplane.ts";
import { compareIds, decodeFields, entriesOf, parseId, streamsOf } from "./_codec.ts";
import { brokenError, type Reader, type ReaderSettings, trimmedError } from "./_reader.ts";
import { ADVANCE, CHECK, evalScript } from "./_scripts.ts";
import { Alarm, backoff, TopicRegistry, type TopicState } from "./_topic-state.ts";
import { RedisBackplaneError, redisError } from "./redis-backplane-error.ts";
import type { RedisClusterLike } from "./redis-client.ts";

/** The topics of one hash slot that this instance reads. */
class SlotState {
  readonly topics = new Set<TopicState>();
  /** Topics waiting for their start id. */
  readonly pending = new Set<TopicState>();
  subscribed: Promise<void> | undefined;
  /** The clock's first id when first seen: a change means the slot's data was lost. */
  epoch: string | undefined;
  constructor(
    readonly slot: number,
    readonly clock: string,
    readonly channel: string,
  ) {}
}

function noop(): void {}

export class ClusterReader implements Reader {
  readonly #redis: RedisClusterLike;
  readonly #settings: ReaderSettings;
  readonly #registry: TopicRegistry;
  readonly #slots = new Map<number, SlotState>();
  readonly #byChannel = new Map<string, SlotState>();
  /** Slots rung (or due for a read) since the last read. */
  readonly #dirty = new Set<SlotState>();
  readonly #alarm = new Alarm();
  #reader: RedisClusterLike | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #sweep = false;
  #failing = false;

  constructor(redis: RedisClusterLike, settings: ReaderSettings) {
    this.#redis = redis;
    this.#settings = settings;
    this.#registry = new TopicRegistry(
      settings.keysOf,
      (state) => {
        const slot = this.#slotOf(state);
        slot.topics.add(state);
        slot.pending.add(state);
        this.#start();
        this.#alarm.wake();
      },
      (state) => {
        const slot = this.#slots.get(state.keys.slot);
        if (slot === undefined) return;
        slot.topics.delete(state);
        slot.pending.delete(state);
        if (slot.topics.size > 0) return;
        this.#slots.delete(slot.slot);
        this.#byChannel.delete(slot.channel);
        this.#dirty.delete(slot);
        if (slot.subscribed !== undefined) this.#reader?.sunsubscribe(slot.channel).catch(noop);
      },
    );
  }

  subscribe(topic: string, listener: BackplaneListener): BackplaneSubscription {
    return this.#registry.subscribe(topic, listener);
  }

  delivered(topic: string, id: string): Promise<void> | undefined {
    return this.#registry.topics.get(topic)?.delivered(id, this.#settings.blockTimeout);
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.#registry.clear();
    this.#slots.clear();
    this.#alarm.wake();
    this.#reader?.disconnect();
    this.#closing = (this.#loop ?? Promise.resolve()).then(noop);
    return this.#closing;
  }

  #slotOf(state: TopicState): SlotState {
    let slot = this.#slots.get(state.keys.slot);
    if (slot === undefined) {
      slot = new SlotState(state.keys.slot, state.keys.clock, state.keys.channel);
      this.#slots.set(slot.slot, slot);
      this.#byChannel.set(slot.channel, slot);
    }
    return slot;
  }

  #start(): void {
    if (this.#loop !== undefined) return;
    const base = this.#redis.options?.redisOptions;
    const reader = this.#redis.duplicate([], {
      shardedSubscribers: true,
      enableOfflineQueue: true,
      lazyConnect: false,
      redisOptions: { ...base, maxRetriesPerRequest: null, autoResendUnfulfilledCommands: false, commandTimeout: undefined },
    });
    this.#reader = reader;
    reader.on("error", (error: unknown) => {
      if (this.#closed) return;
      this.#fail(redisError("Cannot read events", error));
      // A node may have failed over: check for losses before delivering anything read since.
      this.#sweep = true;
    });
    reader.on("smessage", (channel: unknown) => {
      const slot = this.#byChannel.get(String(channel));
      if (slot === undefined) return;
      this.#dirty.add(slot);
      this.#alarm.wake();
    });
    // A shard subscriber came or went (a failover, a reconnect): rings may have been missed.
    const resync = (): void => {
      this.#sweep = true;
      this.#alarm.wake();
    };
    reader.on("+subscriber", resync);
    reader.on("-subscriber", resync);
    reader.on("-node", resync);
    reader.on("+node", resync);
    reader.on("node error", resync);
    this.#loop = this.#run(reader);
  }

  #fail(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#settings.report(error);
  }

  async #run(reader: RedisClusterLike): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      try {
        const starting = [...this.#slots.values()].filter((slot) => slot.pending.size > 0 || slot.subscribed === undefined);
        if (starting.length > 0) await Promise.all(starting.map((slot) => this.#startSlot(reader, slot)));
        if (this.#sweep) {
          this.#sweep = false;
          await Promise.all([...this.#slots.values()].map((slot) => this.#check(reader, slot)));
          for (const slot of this.#slots.values()) this.#dirty.add(slot);
        }
        if (this.#closed) break;
        if (this.#dirty.size === 0) {
          // Woken by a ring, a new topic or close(); on timeout, read and check every slot.
          if (!(await this.#alarm.sleep(this.#slots.size === 0 ? undefined : this.#settings.blockTimeout))) this.#sweep = true;
          continue;
        }
        const dirty = [...this.#dirty];
        this.#dirty.clear();
        const replies = await Promise.all(dirty.map((slot) => this.#read(reader, slot)));
        if (this.#sweep) {
          // Something happened to the cluster while reading (a failover may have lost the entries
          // at the positions, and a read resent by the client to the new primary would skip past
          // the loss unseen): check first, then read again from the same positions.
          for (const slot of dirty) this.#dirty.add(slot);
          continue;
        }
        for (const reply of replies) if (reply !== undefined) this.#dispatch(reply.slot, reply.active, reply.reply);
        failures = 0;
        this.#failing = false;
      } catch (error) {
        if (this.#closed) break;
        this.#fail(redisError("Cannot read events", error));
        this.#sweep = true;
        await this.#alarm.sleep(backoff(++failures));
      }
    }
  }

  /**
   * Subscribes to the slot's doorbell, then gives its pending topics the clock's last id as their
   * start: every entry published after that rings the bell.
   */
  async #startSlot(reader: RedisClusterLike, slot: SlotState): Promise<void> {
    slot.subscribed ??= reader.ssubscribe(slot.channel).then(noop, (error: unknown) => {
      slot.subscribed = undefined;
      throw error;
    });
    await slot.subscribed;
    if (slot.pending.size === 0) return;
    const pending = [...slot.pending];
    const last = await reader.call("HGET", slot.clock, "last");
    const start = typeof last === "string" && last !== "" ? last : "0-0";
    for (const state of pending) {
      if (slot.pending.delete(state)) state.start(start);
    }
  }

  /** Reads the slot's topics from their positions, without blocking. */
  async #read(
    reader: RedisClusterLike,
    slot: SlotState,
  ): Promise<{ slot: SlotState; active: readonly TopicState[]; reply: unknown } | undefined> {
    const active = [...slot.topics].filter((state) => state.position !== undefined && !state.broken);
    if (active.length === 0) return undefined;
    const args: (string | number)[] = ["COUNT", this.#settings.batchSize, "STREAMS"];
    for (const state of active) args.push(state.key);
    for (const state of active) args.push(state.position!);
    let reply: unknown;
    try {
      reply = await reader.call("XREAD", ...args);
    } catch (error) {
      if (redisError("", error).kind !== "refused") throw error;
      await this.#isolate(reader, active, error);
      this.#dirty.add(slot);
      return undefined;
    }
    return { slot, active, reply };
  }

  /** Delivers one slot's read in id order, each entry once. */
  #dispatch(slot: SlotState, active: readonly TopicState[], reply: unknown): void {
    const byKey = new Map(active.map((state) => [state.key, state]));
    const items: { state: TopicState; id: string; parsed: readonly [number, number]; fields: unknown }[] = [];
    let cut: readonly [number, number] | undefined;
    for (const [key, list] of streamsOf(reply)) {
      const state = byKey.get(key);
      if (state === undefined) continue;
      const entries = entriesOf(list);
      let lastParsed: readonly [number, number] | undefined;
      for (const [id, fields] of entries) {
        const parsed = parseId(id);
        if (parsed === undefined) continue;
        lastParsed = parsed;
        items.push({ state, id, parsed, fields });
      }
      if (entries.length >= this.#settings.batchSize && lastParsed !== undefined) {
        if (cut === undefined || compareIds(lastParsed, cut) < 0) cut = lastParsed;
        this.#dirty.add(slot);
        this.#sweep = true;
      }
    }
    items.sort((a, b) => compareIds(a.parsed, b.parsed));
    const advanced = new Set<TopicState>();
    for (const item of items) {
      if (cut !== undefined && compareIds(item.parsed, cut) > 0) break;
      if (!this.#registry.isLive(item.state)) continue;
      if (item.state.deliver(item.id, item.parsed, () => decodeFields(item.fields), this.#settings.observe))
        advanced.add(item.state);
    }
    for (const state of advanced) state.release(false);
  }

  async #isolate(reader: RedisClusterLike, states: readonly TopicState[], cause: unknown): Promise<void> {
    const types = await Promise.all(states.map((state) => reader.call("TYPE", state.key)));
    for (const [i, state] of states.entries()) {
      const type = String(types[i]);
      const broken = type !== "stream" && type !== "none";
      if (broken && !state.broken) this.#settings.report(brokenError(state, type, cause));
      state.broken = broken;
    }
  }

  /**
   * Checks one slot for losses: streams trimmed past this instance's position, the slot's data
   * gone (its clock's first id changed), or a failover that lost events this instance had
   * delivered (the clock is behind a position: Redis Cluster replicates asynchronously, so a
   * promoted replica lacks what its primary acknowledged last). In that last case the check also
   * moves the clock up to the newest id delivered here, so that no id is ever issued twice.
   */
  async #check(reader: RedisClusterLike, slot: SlotState): Promise<void> {
    const states = [...slot.topics].filter((state) => state.position !== undefined);
    const broken = states.filter((state) => state.broken);
    if (broken.length > 0) await this.#isolate(reader, broken, undefined);
    const checked = states.filter((state) => !state.broken);
    const call = (command: string, ...args: (string | number)[]) => reader.call(command, ...args);
    const positions = checked.map((state) => (state.atEntry ? `=${state.position}` : state.position!));
    const reply = (await evalScript(call, CHECK, [slot.clock, ...checked.map((state) => state.key)], positions)) as unknown[];
    const epoch = typeof reply[0] === "string" && reply[0] !== "" ? reply[0] : undefined;
    const last = parseId(typeof reply[1] === "string" && reply[1] !== "" ? reply[1] : "0-0") ?? [0, 0];
    if (epoch !== undefined && slot.epoch !== undefined && epoch !== slot.epoch) {
      this.#settings.report(
        new RedisBackplaneError(
          `Events were lost: Redis lost the data of slot ${slot.slot} (its id clock restarted at "${epoch}", it was "${slot.epoch}"), so events published before may never reach this instance`,
          { kind: "lost" },
        ),
      );
    }
    if (epoch !== undefined) slot.epoch = epoch;
    let ahead: TopicState | undefined;
    for (const [i, state] of checked.entries()) {
      if (!this.#registry.isLive(state)) continue;
      const code = Number(reply[i + 2]);
      if (code === 1) this.#settings.report(trimmedError(state));
      // Gone without a trim, or past the clock: the slot's primary lost what it had acknowledged.
      const behind = compareIds(state.parsed!, last) > 0;
      if (code === 2) state.atEntry = false; // reported once: now a point in time, not an entry to find
      if ((code === 2 || behind) && (ahead === undefined || compareIds(state.parsed!, ahead.parsed!) > 0)) ahead = state;
    }
    if (ahead === undefined) return;
    const clockLast = typeof reply[1] === "string" && reply[1] !== "" ? reply[1] : "none";
    this.#settings.report(
      new RedisBackplaneError(
        `Events were lost: slot ${slot.slot} failed over and its new primary lacks acknowledged events up to "${ahead.position}" (topic ${JSON.stringify(ahead.topic)}) that this instance had delivered; its clock is at "${clockLast}". Instances that had not read them never will, and they are gone from replay`,
        { kind: "lost" },
      ),
    );
    await evalScript(call, ADVANCE, [slot.clock], [ahead.position!]);
  }
}
