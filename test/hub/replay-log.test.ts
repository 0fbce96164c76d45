// The replay log (src/hub/_replay-log.ts) on its own: its two bounds, the order of evictions,
// the binary search of after(), compaction of its head, and historyAfter() over several logs.
import { describe, expect, it } from "vitest";
import { checkReplayOptions, type HistorySource, historyAfter, ReplayLog } from "../../src/hub/_replay-log.ts";

interface Entry {
  topic: string;
  id: string;
  event: { data: string };
  seq: number;
  time: number;
}

const entry = (seq: number, time = 0, topic = "t"): Entry => ({
  topic,
  id: `id-${seq}`,
  event: { data: String(seq) },
  seq,
  time,
});
const seqs = (records: readonly { seq: number }[]): number[] => records.map((record) => record.seq);

describe("ReplayLog", () => {
  it("keeps the newest maxEvents records and hands each evicted one to onEvict, oldest first", () => {
    const evicted: number[] = [];
    const log = new ReplayLog<Entry>({ maxEvents: 3, maxAge: Number.POSITIVE_INFINITY }, (record) => evicted.push(record.seq));
    for (let seq = 1; seq <= 5; seq++) log.append(entry(seq));
    expect([log.size, log.last?.seq, seqs(log.after(0))]).toEqual([3, 5, [3, 4, 5]]);
    expect(evicted).toEqual([1, 2]);
  });

  it("drops records older than maxAge, on append and on expire, at the boundary included", () => {
    const evicted: number[] = [];
    const log = new ReplayLog<Entry>({ maxEvents: 10, maxAge: 100 }, (record) => evicted.push(record.seq));
    log.append(entry(1, 1000));
    log.append(entry(2, 1050));
    log.append(entry(3, 1100)); // 1100 - 100 = 1000: record 1 is exactly maxAge old
    expect(seqs(log.after(0))).toEqual([2, 3]);
    log.expire(1149);
    expect(seqs(log.after(0))).toEqual([2, 3]);
    log.expire(1200);
    expect([log.size, log.last, evicted]).toEqual([0, undefined, [1, 2, 3]]);
  });

  it("never holds a record with maxEvents 0, yet reports it evicted", () => {
    const evicted: number[] = [];
    const log = new ReplayLog<Entry>({ maxEvents: 0 }, (record) => evicted.push(record.seq));
    log.append(entry(1));
    expect([log.size, evicted]).toEqual([0, [1]]);
  });

  it("answers after(seq) for every position, across compactions of its head", () => {
    const log = new ReplayLog<Entry>({ maxEvents: 1500, maxAge: Number.POSITIVE_INFINITY });
    // Sequence numbers with gaps, as in a backplane with several topics.
    for (let i = 1; i <= 5000; i++) {
      log.append(entry(i * 3));
      if (i % 997 === 0) {
        const first = log.after(Number.NEGATIVE_INFINITY)[0]!.seq;
        expect(first).toBe(Math.max(1, i - 1499) * 3);
        expect(log.after(i * 3 - 1).map((record) => record.seq)).toEqual([i * 3]);
        expect(log.after(i * 3)).toEqual([]);
      }
    }
    expect(log.size).toBe(1500);
    expect(seqs(log.after(14_994))).toEqual([14_997, 15_000]);
    expect(seqs(log.after(14_995))).toEqual([14_997, 15_000]);
  });

  it("forgets everything on clear() without calling onEvict", () => {
    const evicted: number[] = [];
    const log = new ReplayLog<Entry>({}, (record) => evicted.push(record.seq));
    log.append(entry(1, Date.now()));
    log.clear();
    expect([log.size, evicted, log.after(0)]).toEqual([0, [], []]);
  });

  it("refuses invalid bounds in the library's words", () => {
    expect(checkReplayOptions({}, "X")).toEqual({ maxEvents: 1000, maxAge: 300_000 });
    expect(() => new ReplayLog({ maxEvents: -1 })).toThrow(
      new RangeError('Cannot create ReplayLog: "maxEvents" must be a non-negative integer, got number -1'),
    );
    expect(() => checkReplayOptions({ maxAge: 0 }, "X")).toThrow(
      new RangeError('Cannot create X: "maxAge" must be a positive number of milliseconds, got number 0'),
    );
  });
});

describe("historyAfter", () => {
  const source = (records: Entry[], evictedSeq = Number.NEGATIVE_INFINITY): HistorySource<Entry> => {
    const log = new ReplayLog<Entry>({ maxEvents: 100, maxAge: Number.POSITIVE_INFINITY });
    for (const record of records) log.append(record);
    return { log, evictedSeq };
  };

  it("merges several logs in sequence order after the position", () => {
    const a = source([entry(1, 0, "a"), entry(4, 0, "a")]);
    const b = source([entry(2, 0, "b"), entry(3, 0, "b"), entry(5, 0, "b")]);
    const history = historyAfter([a, b], 2);
    expect(history.gone ? "gone" : seqs(history.entries as Entry[])).toEqual([3, 4, 5]);
  });

  it("answers gone, with the newest id, for an unknown position or one older than an eviction", () => {
    const a = source([entry(7, 0, "a")], 5);
    const b = source([entry(9, 0, "b")]);
    expect(historyAfter([a, b], undefined)).toEqual({ gone: true, lastId: "id-9" });
    expect(historyAfter([a, b], 4)).toEqual({ gone: true, lastId: "id-9" });
    expect(historyAfter([a, b], 5)).toEqual({ gone: false, entries: [entry(7, 0, "a"), entry(9, 0, "b")] });
    expect(historyAfter([], undefined)).toEqual({ gone: true });
  });
});
