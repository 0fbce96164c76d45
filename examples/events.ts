// The demo's event contract, shared by its server (examples/app.ts) and its typed Node client
// (examples/client/typed-client.ts): the price events (one per symbol, data a number) and the chat
// events (`broadcast` and `direct`, data the original Go example's JSON payload).
//
// Any Standard Schema library fits here (zod, valibot, arktype: see the README's "Typed events").
// These few schemas are written by hand against the Standard Schema interface, so that the demo
// runs unchanged on Node, Deno, Bun and workerd without a schema package; each also describes
// itself in JSON Schema, so that `appEvents.toOpenAPI()` works.
import { defineEvents, type StandardJSONSchemaV1, type StandardSchemaV1 } from "../src/index.ts";

/** The JSON payload of a chat event, field for field as in the original Go example. */
export interface ChatMessage {
  Type: "broadcast" | "direct";
  From: string;
  To: string;
  Message: string;
  Timestamp: string;
}

type Schema<T> = StandardSchemaV1<T> & StandardJSONSchemaV1<T>;

/** A schema from a check that returns the first problem (or nothing) and the JSON Schema it enforces. */
function schema<T>(
  jsonSchema: Record<string, unknown>,
  problem: (value: unknown) => { message: string; path?: string[] } | undefined,
): Schema<T> {
  return {
    "~standard": {
      version: 1,
      vendor: "hertz-sse-example",
      validate: (value) => {
        const issue = problem(value);
        return issue === undefined ? { value: value as T } : { issues: [issue] };
      },
      jsonSchema: { input: () => jsonSchema, output: () => jsonSchema },
    },
  };
}

/** A price: a finite number (the app sends it rounded to cents). */
const price = schema<number>({ type: "number" }, (value) =>
  typeof value === "number" && Number.isFinite(value) ? undefined : { message: "Expected a finite number" },
);

const CHAT_FIELDS = ["From", "To", "Message", "Timestamp"] as const;

const chat = schema<ChatMessage>(
  {
    type: "object",
    properties: {
      Type: { enum: ["broadcast", "direct"] },
      From: { type: "string" },
      To: { type: "string" },
      Message: { type: "string" },
      Timestamp: { type: "string" },
    },
    required: ["Type", ...CHAT_FIELDS],
  },
  (value) => {
    if (typeof value !== "object" || value === null) return { message: "Expected an object" };
    const record = value as Record<string, unknown>;
    if (record.Type !== "broadcast" && record.Type !== "direct")
      return { message: 'Expected "broadcast" or "direct"', path: ["Type"] };
    for (const field of CHAT_FIELDS)
      if (typeof record[field] !== "string") return { message: "Expected a string", path: [field] };
    return undefined;
  },
);

/** The demo's events: `GET /price` sends AAPL and AMZN, `GET /chat/sse` sends broadcast and direct. */
export const appEvents = defineEvents({ AAPL: price, AMZN: price, broadcast: chat, direct: chat });
