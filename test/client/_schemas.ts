// The same event maps written with Zod 4, Valibot 1 and ArkType 2, for the table-driven typed
// suites: `events` (price, chat, and message for events without a name), `slow` (a schema that
// validates asynchronously, waiting longer for n = 1 than for the others, so that an order that
// followed validation times would show), and whether the map describes itself in JSON Schema.
import { toStandardJsonSchema } from "@valibot/to-json-schema";
import { type } from "arktype";
import * as v from "valibot";
import * as z from "zod";
import { defineEvents, type StandardSchemaV1 } from "../../src/core/events.ts";

const pause = (n: number) => new Promise((resolve) => setTimeout(resolve, n === 1 ? 30 : 0));

/** An asynchronous Standard Schema made from a synchronous one (ArkType has no async checks). */
function slowly<I, O>(schema: StandardSchemaV1<I, O>): StandardSchemaV1<I, O> {
  return {
    "~standard": {
      ...schema["~standard"],
      validate: async (value) => {
        await pause((value as { n?: unknown })?.n === 1 ? 1 : 0);
        return schema["~standard"].validate(value);
      },
    },
  };
}

export const zodEvents = defineEvents({
  price: z.object({ symbol: z.string(), price: z.number() }),
  chat: z.object({ from: z.string(), text: z.string() }),
  message: z.string(),
});
const zodSlow = defineEvents({
  tick: z.object({ n: z.number() }).refine(async (tick) => {
    await pause(tick.n);
    return tick.n >= 0;
  }, "n must not be negative"),
});

export const valibotEvents = defineEvents({
  price: v.object({ symbol: v.string(), price: v.number() }),
  chat: v.object({ from: v.string(), text: v.string() }),
  message: v.string(),
});
const valibotSlow = defineEvents({
  tick: v.pipeAsync(
    v.object({ n: v.number() }),
    v.checkAsync(async (tick) => {
      await pause(tick.n);
      return tick.n >= 0;
    }, "n must not be negative"),
  ),
});
/** Valibot describes itself in JSON Schema through @valibot/to-json-schema. */
export const valibotDescribed = defineEvents({
  price: toStandardJsonSchema(v.object({ symbol: v.string(), price: v.number() })),
  chat: toStandardJsonSchema(v.object({ from: v.string(), text: v.string() })),
  message: toStandardJsonSchema(v.string()),
});

export const arktypeEvents = defineEvents({
  price: type({ symbol: "string", price: "number" }),
  chat: type({ from: "string", text: "string" }),
  message: type("string"),
});
const arktypeSlow = defineEvents({ tick: slowly(type({ n: "number >= 0" })) });

export interface Library {
  name: string;
  events: typeof zodEvents | typeof valibotEvents | typeof arktypeEvents;
  slow: typeof zodSlow | typeof valibotSlow | typeof arktypeSlow;
  /** The map as it describes itself in OpenAPI (valibot: wrapped). */
  described: typeof zodEvents | typeof valibotDescribed | typeof arktypeEvents;
}

export const libraries: Library[] = [
  { name: "zod 4", events: zodEvents, slow: zodSlow, described: zodEvents },
  { name: "valibot 1", events: valibotEvents, slow: valibotSlow, described: valibotDescribed },
  { name: "arktype 2", events: arktypeEvents, slow: arktypeSlow, described: arktypeEvents },
];
