// The reconnection delay as a pure function, and the subscription's queue, tested without a
// server or a clock.
import { describe, expect, it } from "vitest";
import { AsyncQueue } from "../../src/client/_queue.ts";
import { MAX_TIMER, reconnectDelay } from "../../src/client/_reconnect-delay.ts";

const base = { reconnectionTime: 100, factor: 2, maxDelay: 1000, jitter: 0, afterOpen: false, random: 0 };

describe("reconnectDelay", () => {
  it.each([
    ["the reconnection time first", { attempt: 1 }, 100],
    ["grown by the factor per attempt", { attempt: 3 }, 400],
    ["capped by maxDelay", { attempt: 10 }, 1000],
    ["a server's longer reconnection time over the cap", { attempt: 10, reconnectionTime: 5000 }, 5000],
    ["from 1 ms when the reconnection time is 0", { attempt: 3, reconnectionTime: 0 }, 4],
    ["0 for a first refused connection with a reconnection time of 0", { attempt: 1, reconnectionTime: 0 }, 0],
    ["at least 100 ms after a connection that opened", { attempt: 1, reconnectionTime: 0, afterOpen: true }, 100],
    ["jitter only adds", { attempt: 1, jitter: 0.5, random: 0.5 }, 125],
    ["within what timers take", { attempt: 1, reconnectionTime: 2 ** 40 }, MAX_TIMER],
  ])("is %s", (_name, input, expected) => {
    expect(reconnectDelay({ ...base, ...input })).toBe(expected);
  });
});

describe("AsyncQueue", () => {
  it("hands values to waiting next() calls in order, then queues them", async () => {
    const queue = new AsyncQueue<number>(2);
    const first = queue.next();
    queue.push(1);
    queue.push(2);
    expect(await first).toEqual({ done: false, value: 1 });
    expect(queue.size).toBe(1);
    expect(await queue.next()).toEqual({ done: false, value: 2 });
  });

  it("reports room only below the high-water mark, and makes room as values are taken", async () => {
    const queue = new AsyncQueue<number>(2);
    queue.push(1);
    expect(queue.room()).toBeUndefined();
    queue.push(2);
    const room = queue.room();
    expect(room).toBeInstanceOf(Promise);
    await queue.next();
    await room;
  });

  it("ends once: the loop takes what came before a failure, then the error, once", async () => {
    const queue = new AsyncQueue<number>(4);
    queue.push(1);
    const error = new Error("broken");
    queue.end(true, error, false);
    queue.end(false, undefined, true);
    expect(await queue.next()).toEqual({ done: false, value: 1 });
    await expect(queue.next()).rejects.toBe(error);
    expect(await queue.next()).toEqual({ done: true, value: undefined });
  });

  it("drops what was not taken when ended with drop", async () => {
    const queue = new AsyncQueue<number>(4);
    queue.push(1);
    queue.end(false, undefined, true);
    expect(await queue.next()).toEqual({ done: true, value: undefined });
  });
});
