/**
 * The OpenAPI 3.2 description of an event map: the media type object for `text/event-stream`,
 * with an `itemSchema` built from each schema's Standard JSON Schema.
 *
 * @module
 */

import type { StandardJSONSchemaV1, StandardSchemaV1 } from "./_standard-schema.ts";

/**
 * An OpenAPI 3.2 media type object for `text/event-stream`: `itemSchema` describes one event.
 */
export interface OpenAPIMediaType {
  /** The JSON Schema (2020-12 dialect) of one event: `event`, `data`, `id`, `retry`. */
  itemSchema: Record<string, unknown>;
}

const JSON_SCHEMA_TARGET = "draft-2020-12";

function jsonSchemaOf(name: string, schema: StandardSchemaV1): Record<string, unknown> {
  const standard = schema["~standard"] as Partial<StandardJSONSchemaV1.Props>;
  const converter = standard.jsonSchema;
  if (typeof converter?.output !== "function") {
    const hint = standard.vendor === "valibot" ? ": wrap it with toStandardJsonSchema() from @valibot/to-json-schema" : "";
    throw new TypeError(
      `Cannot describe event ${JSON.stringify(name)} in OpenAPI: its schema (vendor ${JSON.stringify(standard.vendor)}) has no JSON Schema ("~standard.jsonSchema")${hint}`,
    );
  }
  let json: Record<string, unknown>;
  try {
    json = converter.output({ target: JSON_SCHEMA_TARGET });
  } catch (cause) {
    throw new TypeError(
      `Cannot describe event ${JSON.stringify(name)} in OpenAPI: its schema has no ${JSON_SCHEMA_TARGET} JSON Schema`,
      { cause },
    );
  }
  // `$schema` may only stand at the root of a schema resource; the document sets the dialect.
  const { $schema: _dialect, ...rest } = json;
  return rest;
}

/**
 * The media type object: one `oneOf` branch per event, told apart by `event` (required for
 * every name but `message`, whose branch also takes events without one), with `data` a JSON
 * string whose `contentSchema` is the event's schema.
 */
export function toOpenAPI(schemas: Readonly<Record<string, StandardSchemaV1>>): OpenAPIMediaType {
  const branches: Record<string, unknown>[] = [];
  for (const [name, schema] of Object.entries(schemas)) {
    branches.push({
      properties: {
        event: { const: name },
        data: { contentMediaType: "application/json", contentSchema: jsonSchemaOf(name, schema) },
      },
      required: name === "message" ? ["data"] : ["event", "data"],
    });
  }
  return {
    itemSchema: {
      type: "object",
      properties: {
        event: { type: "string" },
        data: { type: "string" },
        id: { type: "string" },
        retry: { type: "integer", minimum: 0 },
      },
      oneOf: branches,
    },
  };
}
