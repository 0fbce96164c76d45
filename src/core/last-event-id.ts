/**
 * `getLastEventId()`: the id a reconnecting client last saw.
 *
 * @module
 */

/** Options for {@linkcode getLastEventId}. */
export interface LastEventIdOptions {
  /**
   * A query parameter to read when the header is absent, for clients that cannot set headers
   * (for example a browser `EventSource` opened with an id in its URL). Off unless given.
   *
   * @default {undefined}
   */
  query?: string;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads the `Last-Event-ID` request header, which a reconnecting client sends with the id of the
 * last event it received. Returns `undefined` when there is none.
 *
 * Browsers send the id UTF-8 encoded, and the `Headers` API hands such a value over one character
 * per byte; this function decodes it back to the id the server sent. A value that is not valid
 * UTF-8 is returned as it came.
 *
 * @example Usage
 * ```ts
 * import { getLastEventId } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const request = new Request("http://localhost/sse", { headers: { "Last-Event-ID": "41" } });
 * assertEquals(getLastEventId(request), "41");
 * ```
 *
 * @example Query-parameter fallback
 * ```ts
 * import { getLastEventId } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const request = new Request("http://localhost/sse?lastEventId=41");
 * assertEquals(getLastEventId(request, { query: "lastEventId" }), "41");
 * ```
 */
export function getLastEventId(request: Request, options?: LastEventIdOptions): string | undefined {
  const header = request.headers.get("last-event-id");
  if (header !== null) return decodeByteString(header);
  if (options?.query) {
    const value = new URL(request.url).searchParams.get(options.query);
    if (value !== null) return value;
  }
  return undefined;
}

/** Reverses the one-character-per-byte view of a UTF-8 header value. */
export function decodeByteString(value: string): string {
  let ascii = true;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0xff) return value; // Not a byte string: already decoded by the runtime.
    if (code > 0x7f) ascii = false;
  }
  if (ascii) return value;
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i);
  try {
    return decoder.decode(bytes);
  } catch {
    return value;
  }
}

/**
 * Encodes an id for a `Last-Event-ID` request header: UTF-8, one character per byte, as browsers
 * send it, so that `Headers` accepts it and the server decodes it back.
 *
 * @example Usage
 * ```ts
 * import { encodeByteString } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * assertEquals(encodeByteString("é"), "\u00c3\u00a9");
 * ```
 */
export function encodeByteString(value: string): string {
  let ascii = true;
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return value;
  let out = "";
  for (const byte of new TextEncoder().encode(value)) out += String.fromCharCode(byte);
  return out;
}
