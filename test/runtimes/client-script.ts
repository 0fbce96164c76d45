// Runs the client on whichever runtime executes this file (node via tsx, deno, bun): consumes a
// resumable stream across two reconnections and prints what it received as one JSON line.
import { subscribe } from "../../src/client/index.ts";

declare const Deno: { args: string[] } | undefined;
const url =
  typeof Deno !== "undefined" ? Deno.args[0] : (globalThis as unknown as { process: { argv: string[] } }).process.argv[2];
const received: { type: string; data: string; lastEventId: string }[] = [];
for await (const message of subscribe(`${url}/counter?retry=10`, { retry: 10_000 })) {
  received.push(message);
  if (received.length === 7) break;
}
console.log(JSON.stringify(received));
