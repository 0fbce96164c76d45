/**
 * The reader of the Redis backplane on a single Redis: one blocking `XREAD` over every topic the
 * instance reads, on one connection of its own.
 *
 * @module
 */

import type { BackplaneListener, BackplaneSubscription } from "../hub/backplane.ts";
import { compareIds, decodeFields, entriesOf, type ParsedId, parseId, streamsOf, type TopicKeys } from "./_codec.ts";
import { type Call, CHECK, evalScript } from "./_scripts.ts";
import { Alarm, backoff, TopicRegistry, type TopicState } from "./_topic-state.ts";
import { messageOf, RedisBackplaneError, redisError } from "./redis-backplane-error.ts";
import type { RedisClientLike } from "./redis-client.ts";

/** What both readers are given. */
export interface ReaderSettings {
  readonly keysOf: (topic: string) => TopicKeys;
  readonly blockTimeout: number;
  readonly batchSize: number;
  readonly report: (error: unknown) => void;
  /** Told of every id delivered (the cluster writer's floor). */
  readonly observe?: (id: string, parsed: ParsedId) => void;
}

/** What the backplane asks of a reader. */
export interface Reader {
  subscribe(topic: string, listener: BackplaneListener): BackplaneSubscription;
  /** See `RedisBackplane`'s history: resolves once `id` of `topic` has been delivered here. */
  delivered(topic: string, id: string): Promise<void> | undefined;
  close(): Promise<void>;
}

interface Pending {
  readonly state: TopicState;
  readonly id: string;
  readonly parsed: ParsedId;
  readonly fields: unknown;
}

function noop(): void {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`No reply within ${ms} ms`)), ms);
    promise.then(
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

/** The lost-events report for a topic trimmed past the reader's position. */
export function trimmedError(state: TopicState): RedisBackplaneError {
  return new RedisBackplaneError(
    `Events were lost: topic ${JSON.stringify(state.topic)} was trimmed past "${state.position}" before this instance could read it; raise "maxEvents" or "maxAge"`,
    { kind: "lost" },
  );
}

/** The report for a topic whose key Redis refuses to read as a stream. */
export function brokenError(state: TopicState, type: string, cause?: unknown): RedisBackplaneError {
  return new RedisBackplaneError(
    `Cannot read events of topic ${JSON.stringify(state.topic)}: its key ${JSON.stringify(state.key)} holds a ${type}, not a stream; the topic gets no live events until the key is removed (other topics are not affected)`,
    { kind: "refused", cause },
  );
}

/**
 * Reads every topic of one instance with one blocking `XREAD` on a `duplicate()` of the client,
 * interrupted with `CLIENT UNBLOCK` when a topic is added.
 */
export class SingleReader implements Reader {
  readonly #redis: RedisClientLike;
  readonly #settings: ReaderSettings;
  readonly #registry: TopicRegistry;
  /** Topics waiting for the reader to give them a start id. */
  readonly #pending = new Set<TopicState>();
  readonly #alarm = new Alarm();
  #reader: RedisClientLike | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The clock's first id when the reader first saw it: a change means Redis lost its data. */
  #epoch: string | undefined;
  /** Whether the next turn of the loop checks that nothing was trimmed past the reader. */
  #checkLosses = false;
  /** The reader's connection id, for CLIENT UNBLOCK; undefined while unknown. */
  #readerId: number | undefined;
  #readerIdRequest: Promise<void> | undefined;
  /** Counts reads; the one in flight, if any, is `#reading`. */
  #generation = 0;
  #reading = 0;
  /** Fails the reader's commands in flight when its connection closes (ioredis drops them). */
  readonly #inflight = new Set<(error: unknown) => void>();
  #interrupting = false;
  #unblockDenied = false;
  /** An outage is under way and was reported. */
  #failing = false;

  constructor(redis: RedisClientLike, settings: ReaderSettings) {
    this.#redis = redis;
    this.#settings = settings;
    this.#registry = new TopicRegistry(
      settings.keysOf,
      (state) => {
        this.#pending.add(state);
        this.#start();
        this.#interrupt();
      },
      (state) => {
        this.#pending.delete(state);
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
    this.#pending.clear();
    this.#alarm.wake();
    this.#reader?.disconnect();
    this.#closing = (this.#loop ?? Promise.resolve()).then(noop);
    return this.#closing;
  }

  /** Creates the reading connection and starts the loop, on the first subscription. */
  #start(): void {
    if (this.#loop !== undefined) return;
    const reader = this.#redis.duplicate({
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      // ioredis would resend the read that was blocked when the connection broke before any
      // other command, leaving the new connection's id (for CLIENT UNBLOCK) unknown until that
      // read returns. Instead, what is in flight fails on "close", and the loop sends it again.
      autoResendUnfulfilledCommands: false,
      commandTimeout: undefined,
      lazyConnect: false,
    });
    this.#reader = reader;
    reader.on("error", (error: unknown) => {
      if (!this.#closed) this.#fail(redisError("Cannot read events", error));
    });
    reader.on("close", () => {
      this.#readerId = undefined;
      this.#readerIdRequest = undefined;
      if (!this.#closed) this.#checkLosses = true;
      const lost = [...this.#inflight];
      this.#inflight.clear();
      for (const reject of lost) reject(new Error("Connection is closed"));
    });
    this.#loop = this.#run(reader);
  }

  /** Reports the first error of an outage; the next successful read ends the outage. */
  #fail(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#settings.report(error);
  }

  async #run(reader: RedisClientLike): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      try {
        // A topic added while a check is under way gets its start id from the next one.
        while (!this.#closed && (this.#pending.size > 0 || this.#checkLosses)) await this.#check(reader);
        if (this.#closed) break;
        const active = [...this.#registry.topics.values()].filter((state) => state.position !== undefined && !state.broken);
        if (active.length === 0) {
          await this.#alarm.sleep(undefined);
          continue;
        }
        let reply: unknown;
        try {
          reply = await this.#read(reader, active);
        } catch (error) {
          // A key that is not a stream fails the whole XREAD: find it and leave it out, so that
          // it costs its own topic only.
          if (this.#closed || redisError("", error).kind !== "refused" || !(await this.#isolate(reader, active, error)))
            throw error;
          continue;
        }
        failures = 0;
        this.#failing = false;
        this.#dispatch(active, reply);
        const broken = [...this.#registry.topics.values()].filter((state) => state.broken);
        if (broken.length > 0) await this.#isolate(reader, broken, undefined);
      } catch (error) {
        if (this.#closed) break;
        this.#fail(redisError("Cannot read events", error));
        // While the connection is down, the next command waits in its offline queue for the
        // client's reconnection; this backoff paces the errors Redis itself answers with.
        await this.#alarm.sleep(backoff(++failures));
      }
    }
  }

  /**
   * Marks the topics whose key holds something other than a stream as broken, reporting each;
   * true if it found any. A broken topic is looked at again at each loss check.
   */
  async #isolate(reader: RedisClientLike, states: readonly TopicState[], cause: unknown): Promise<boolean> {
    const types = await Promise.all(states.map((state) => this.#readerCall(reader, "TYPE", state.key)));
    let found = false;
    for (const [i, state] of states.entries()) {
      const type = String(types[i]);
      const broken = type !== "stream" && type !== "none";
      if (broken && !state.broken) this.#settings.report(brokenError(state, type, cause));
      state.broken = broken;
      found ||= broken;
    }
    return found;
  }

  /** A command on the reader's connection, failed if the connection closes before its reply. */
  #readerCall(reader: RedisClientLike, command: string, ...args: (string | number)[]): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      this.#inflight.add(reject);
      reader.call(command, ...args).then(
        (reply) => {
          this.#inflight.delete(reject);
          resolve(reply);
        },
        (error: unknown) => {
          this.#inflight.delete(reject);
          reject(error);
        },
      );
    });
  }

  /**
   * Gives the pending topics their start id: the clock's last id, read on the reader's connection
   * after its previous read returned, so it is not older than anything delivered. When asked,
   * also checks that no stream was trimmed past this instance's position, and that Redis still
   * has its data (the clock's first id is unchanged).
   */
  async #check(reader: RedisClientLike): Promise<void> {
    const pending = [...this.#pending];
    const checkLosses = this.#checkLosses;
    this.#checkLosses = false;
    const states = [...this.#registry.topics.values()];
    const checked = checkLosses ? states.filter((state) => state.position !== undefined && !state.broken) : [];
    const clock = this.#settings.keysOf("_").clock;
    const call: Call = (command, ...args) => this.#readerCall(reader, command, ...args);
    let reply: unknown[];
    try {
      reply = (await evalScript(
        call,
        CHECK,
        [clock, ...checked.map((state) => state.key)],
        checked.map((state) => state.position!),
      )) as unknown[];
    } catch (error) {
      this.#checkLosses ||= checkLosses;
      throw error;
    }
    const epoch = typeof reply[0] === "string" && reply[0] !== "" ? reply[0] : undefined;
    const last = typeof reply[1] === "string" && reply[1] !== "" ? reply[1] : "0-0";
    if (epoch !== undefined) {
      if (this.#epoch !== undefined && epoch !== this.#epoch) {
        this.#settings.report(
          new RedisBackplaneError(
            `Events were lost: Redis lost its data (its id clock restarted at "${epoch}", it was "${this.#epoch}"), so events published before may never reach this instance`,
            { kind: "lost" },
          ),
        );
      }
      this.#epoch = epoch;
    }
    for (const [i, state] of checked.entries()) {
      if (Number(reply[i + 2]) === 1 && this.#registry.isLive(state)) this.#settings.report(trimmedError(state));
    }
    for (const state of pending) {
      if (this.#pending.delete(state)) state.start(last);
    }
  }

  /** One blocking XREAD of the active topics, from the last id delivered in each. */
  async #read(reader: RedisClientLike, active: readonly TopicState[]): Promise<unknown> {
    if (this.#readerId === undefined && this.#readerIdRequest === undefined) {
      // Sent before the XREAD on the same connection, so it is answered before the read blocks.
      const request: Promise<void> = this.#readerCall(reader, "CLIENT", "ID").then((id) => {
        if (this.#readerIdRequest === request) this.#readerId = Number(id);
      }, noop);
      this.#readerIdRequest = request;
    }
    const args: (string | number)[] = ["COUNT", this.#settings.batchSize, "BLOCK", this.#settings.blockTimeout, "STREAMS"];
    for (const state of active) args.push(state.key);
    for (const state of active) args.push(state.position!);
    const generation = ++this.#generation;
    this.#reading = generation;
    try {
      return await this.#readerCall(reader, "XREAD", ...args);
    } finally {
      if (this.#reading === generation) this.#reading = 0;
    }
  }

  /**
   * Delivers the entries of one read, in id order across topics, each once. When a topic's list
   * was cut by COUNT, nothing after its last entry is delivered from this read (it is read again),
   * so that no entry is ever delivered after a later one.
   */
  #dispatch(active: readonly TopicState[], reply: unknown): void {
    const byKey = new Map<string, TopicState>();
    for (const state of active) byKey.set(state.key, state);
    const items: Pending[] = [];
    let cut: ParsedId | undefined;
    let streams = 0;
    for (const [key, list] of streamsOf(reply)) {
      const state = byKey.get(key);
      if (state === undefined) continue;
      const entries = entriesOf(list);
      if (entries.length === 0) continue;
      streams++;
      let lastParsed: ParsedId | undefined;
      for (const [id, fields] of entries) {
        const parsed = parseId(id);
        if (parsed === undefined) continue;
        lastParsed = parsed;
        items.push({ state, id, parsed, fields });
      }
      if (entries.length >= this.#settings.batchSize && lastParsed !== undefined) {
        if (cut === undefined || compareIds(lastParsed, cut) < 0) cut = lastParsed;
        // A full batch: this instance is behind; make sure nothing was trimmed before it read it.
        this.#checkLosses = true;
      }
    }
    if (streams > 1) items.sort((a, b) => compareIds(a.parsed, b.parsed));
    const advanced = new Set<TopicState>();
    for (const item of items) {
      if (cut !== undefined && compareIds(item.parsed, cut) > 0) break;
      const { state } = item;
      // Skip topics dropped meanwhile, and what was already delivered.
      if (!this.#registry.isLive(state)) continue;
      if (state.deliver(item.id, item.parsed, () => decodeFields(item.fields))) advanced.add(state);
    }
    for (const state of advanced) state.release(false);
  }

  /**
   * Gets a new topic taken up at once: wakes the idle loop, or interrupts the read in flight with
   * CLIENT UNBLOCK from the main connection. The unblock misses when the read has not reached
   * Redis yet, or the connection's id is not known yet; it is tried again, with backoff (1 ms
   * doubling to 1 s), while that read is in flight.
   */
  #interrupt(): void {
    if (this.#reading === 0) {
      this.#alarm.wake();
      return;
    }
    if (this.#interrupting || this.#unblockDenied) return;
    this.#interrupting = true;
    const generation = this.#reading;
    void (async () => {
      try {
        for (let attempt = 0; this.#reading === generation && !this.#closed; attempt++) {
          const id = this.#readerId;
          if (id !== undefined) {
            let unblocked: unknown;
            try {
              // Bounded: a client that drops commands on a broken connection never answers.
              unblocked = await withTimeout(this.#redis.call("CLIENT", "UNBLOCK", id), 1_000);
            } catch (error) {
              if (/NOPERM|unknown (command|subcommand)/i.test(messageOf(error))) {
                this.#unblockDenied = true;
                this.#settings.report(
                  redisError(
                    `Cannot interrupt the reader, so new topics wait up to "blockTimeout" (${this.#settings.blockTimeout} ms)`,
                    error,
                  ),
                );
                return;
              }
            }
            if (Number(unblocked) === 1) return;
          }
          await new Promise((resolve) => setTimeout(resolve, Math.min(2 ** attempt, 1_000)));
        }
      } finally {
        this.#interrupting = false;
      }
    })();
  }
}
