// The events every workload sends, and the correctness check they all share: the bytes a
// contender produced are parsed back with eventsource-parser (a third-party parser, so the check
// does not depend on hertz-sse's own) and compared with what was sent.
import { createParser } from "eventsource-parser";

/** The small event's data: about 60 bytes of JSON. */
export interface Payload {
  symbol: string;
  price: number;
  seq: number;
  /** When it was sent (ms, `performance.timeOrigin + performance.now()`), for latency; fixed otherwise. */
  t: number;
}

export function smallData(seq: number, t = 1_732_600_000_000): Payload {
  return { symbol: "AAPL", price: 189.5 + (seq % 100) / 100, seq, t };
}

/** The large event's data: 16 KiB of text in 100 lines (LF-separated, no trailing break). */
export const LARGE_TEXT: string = (() => {
  const lines: string[] = [];
  for (let i = 0; i < 100; i++)
    lines.push(`${String(i).padStart(3, "0")} ${"lorem ipsum dolor sit amet ".repeat(6).slice(0, 158)}`);
  const text = lines.join("\n");
  // Pad the last line so the text is exactly 16 KiB.
  return text + "x".repeat(16 * 1024 - text.length);
})();

export const EVENT_TYPE = "price";

export interface Received {
  type: string;
  data: string;
  id: string | undefined;
}

/** Parses event-stream text into its messages (eventsource-parser; comments and retry ignored). */
export function parseAll(text: string): Received[] {
  const out: Received[] = [];
  const parser = createParser({
    onEvent: (event) => out.push({ type: event.event ?? "message", data: event.data, id: event.id }),
  });
  parser.feed(text);
  return out;
}

/**
 * Checks that `messages` are exactly events 1..count with type "price", ids "1".."count" and data
 * that `decode` maps back to what `expected(seq)` says; returns a description of the first
 * difference, or undefined.
 */
export function firstDifference(
  messages: readonly Received[],
  count: number,
  expected: (seq: number) => string,
  decode: (data: string) => string = (data) => data,
): string | undefined {
  if (messages.length !== count) return `${messages.length} events instead of ${count}`;
  for (let i = 0; i < count; i++) {
    const message = messages[i]!;
    const seq = i + 1;
    if (message.type !== EVENT_TYPE) return `event ${seq}: type ${JSON.stringify(message.type)}`;
    if (message.id !== String(seq)) return `event ${seq}: id ${JSON.stringify(message.id)}`;
    let data: string;
    try {
      data = decode(message.data);
    } catch (error) {
      return `event ${seq}: data does not decode (${(error as Error).message})`;
    }
    if (data !== expected(seq)) return `event ${seq}: data differs (${JSON.stringify(data.slice(0, 80))}…)`;
  }
  return undefined;
}
