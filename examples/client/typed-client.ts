// A typed Node client for the demo app: prices and chat through subscribe() with the app's own
// event map, so `message.type` narrows `message.data` (a number for a price, a ChatMessage for a
// chat event), and data that breaks the contract ends the loop with an EventValidationError.
//
//   npm start                                   (the app, on http://localhost:8888)
//   npx tsx examples/client/typed-client.ts     (BASE_URL and CHAT_USER to change the defaults)
//
// then, from another terminal: curl -X POST 'http://localhost:8888/chat/broadcast?from=kitex&message=hi'
import { subscribe } from "../../src/client/index.ts";
import { appEvents } from "../events.ts";

export interface WatchOptions {
  /** Stops both subscriptions. */
  signal?: AbortSignal;
  /** Where lines go. @default {console.log} */
  print?: (line: string) => void;
  /** The chat name to subscribe as. @default {"typed-client"} */
  user?: string;
}

/** Follows `/price` and `/chat/sse` on `base` until `signal` aborts; resolves when both have ended. */
export async function watch(base: string, options: WatchOptions = {}): Promise<void> {
  const print = options.print ?? ((line: string) => console.log(line));
  const user = options.user ?? "typed-client";

  const prices = async () => {
    for await (const message of subscribe(new URL("/price", base), { events: appEvents, signal: options.signal })) {
      if (message.type === "AAPL" || message.type === "AMZN") {
        // data: number, checked at run time against the shared schema.
        print(`${message.type} ${message.data.toFixed(2)} (id ${message.lastEventId})`);
      }
    }
  };

  const chat = async () => {
    const url = new URL("/chat/sse", base);
    url.searchParams.set("username", user);
    for await (const message of subscribe(url, { events: appEvents, signal: options.signal })) {
      if (message.type === "broadcast" || message.type === "direct") {
        // data: ChatMessage.
        const { From, Message, Timestamp } = message.data;
        print(`${Timestamp} ${message.type === "direct" ? "(direct) " : ""}${From}: ${Message}`);
      }
    }
  };

  const ended = (error: unknown) => {
    if (!options.signal?.aborted) throw error;
  };
  await Promise.all([prices().catch(ended), chat().catch(ended)]);
}

// Run directly: follow the app at BASE_URL until Ctrl-C.
if (import.meta.url === `file://${process.argv[1]}`) {
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  await watch(process.env.BASE_URL ?? "http://localhost:8888", { signal: controller.signal, user: process.env.CHAT_USER });
}
