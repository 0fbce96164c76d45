/**
 * The options of `subscribe()`, checked and resolved once, before anything is fetched: every
 * default in one place, and every refusal with the house message.
 *
 * @module
 */

import type { SSEMessage } from "../core/event.ts";
import { checkEventsOption, type EventMap } from "../core/events.ts";
import { ConnectionError } from "./errors.ts";
import type { FetchLike, FetchLikeResponse, SubscribeBody } from "./fetch-like.ts";
import type { ClientSubscribeOptions, MessageChoice, RetryInfo } from "./subscribe-options.ts";

/** The options with their defaults applied; the callbacks as given. */
export interface ResolvedOptions {
  url: string | URL;
  method: string;
  headers: Headers;
  body: SubscribeBody | null | undefined;
  fetch: FetchLike;
  signal: AbortSignal | undefined;
  lastEventId: string;
  maxLastEventIdLength: number;
  retry: number;
  maxRetry: number;
  factor: number;
  maxDelay: number;
  jitter: number;
  maxAttempts: number;
  maxEventSize: number | undefined;
  decode: ((data: string) => string) | undefined;
  events: EventMap | undefined;
  onInvalid: MessageChoice;
  onUnknown: MessageChoice;
  onOpen: ((response: FetchLikeResponse) => unknown) | undefined;
  onMessage: ((message: SSEMessage) => unknown) | undefined;
  onError: ((error: unknown) => unknown) | undefined;
  shouldRetry: (error: unknown, info: RetryInfo) => boolean | Promise<boolean>;
  onRetry: ((info: RetryInfo) => void) | undefined;
}

const DEFAULT_RETRY = 3000;
const DEFAULT_MAX_RETRY = 300_000;
const DEFAULT_MAX_LAST_EVENT_ID_LENGTH = 1024;
const CHOICES: readonly string[] = ["throw", "skip", "pass"];

function defaultShouldRetry(error: unknown): boolean {
  return ConnectionError.is(error);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes base64-encoded UTF-8, as the Go client's base64 option does. */
function decodeBase64(data: string): string {
  let binary: string;
  try {
    binary = atob(data); // Forgiving base64: the LFs between data lines are skipped.
  } catch (cause) {
    const shown = data.length > 20 ? `${data.slice(0, 20)}…` : data;
    throw new SyntaxError(`Cannot decode message data: it is not base64, got ${JSON.stringify(shown)}`, { cause });
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw new SyntaxError("Cannot decode message data: the base64 bytes are not UTF-8", { cause });
  }
}

function checkNumber(name: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY): number {
  if (typeof value !== "number" || Number.isNaN(value) || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `at least ${min}` : `between ${min} and ${max}`;
    throw new RangeError(`Cannot subscribe: "${name}" must be a number ${range}, got ${String(value)}`);
  }
  return value;
}

function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`Cannot subscribe: "${name}" must be a function, got ${typeof value}`);
  }
}

function checkChoice(name: string, value: unknown, fallback: MessageChoice): MessageChoice {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !CHOICES.includes(value)) {
    throw new TypeError(`Cannot subscribe: "${name}" must be "throw", "skip" or "pass", got ${JSON.stringify(value)}`);
  }
  return value as MessageChoice;
}

/** Checks `options` and applies the defaults; throws a `TypeError` or `RangeError` on the first problem. */
export function resolveOptions(input: unknown, options: ClientSubscribeOptions<never> | null | undefined): ResolvedOptions {
  if (typeof input !== "string" && !(input instanceof URL)) {
    throw new TypeError(`Cannot subscribe: the URL must be a string or a URL, got ${input === null ? "null" : typeof input}`);
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot subscribe: options must be an object, got ${options === null ? "null" : typeof options}`);
  }
  for (const name of ["fetch", "onOpen", "onMessage", "onError", "shouldRetry", "onRetry"] as const)
    checkFunction(name, options[name]);
  const fetch = options.fetch ?? (globalThis.fetch as FetchLike | undefined);
  if (typeof fetch !== "function") {
    throw new TypeError('Cannot subscribe: this runtime has no global fetch, and no "fetch" option was given');
  }
  const backoff = options.backoff ?? {};
  const decode = options.decode;
  if (decode !== undefined && decode !== "base64" && typeof decode !== "function") {
    throw new TypeError(`Cannot subscribe: "decode" must be "base64" or a function, got ${JSON.stringify(decode)}`);
  }
  const method = options.method ?? (options.body == null ? "GET" : "POST");
  if (typeof method !== "string") {
    throw new TypeError(`Cannot subscribe: "method" must be a string, got ${typeof method}`);
  }
  if (options.body != null && /^(GET|HEAD)$/i.test(method)) {
    throw new TypeError(`Cannot subscribe: a request with a body cannot use the method ${JSON.stringify(method)}`);
  }
  const lastEventId = options.lastEventId ?? "";
  if (typeof lastEventId !== "string") {
    throw new TypeError(`Cannot subscribe: "lastEventId" must be a string, got ${typeof lastEventId}`);
  }
  if (/[\r\n\0]/.test(lastEventId)) {
    throw new TypeError(`Cannot subscribe: "lastEventId" must not contain CR, LF or NUL, got ${JSON.stringify(lastEventId)}`);
  }
  return {
    url: input,
    method,
    headers: new Headers(options.headers),
    body: options.body,
    fetch,
    signal: options.signal,
    lastEventId,
    maxLastEventIdLength: checkNumber(
      "maxLastEventIdLength",
      options.maxLastEventIdLength ?? DEFAULT_MAX_LAST_EVENT_ID_LENGTH,
      0,
    ),
    retry: checkNumber("retry", options.retry ?? DEFAULT_RETRY, 0),
    maxRetry: checkNumber("maxRetry", options.maxRetry ?? DEFAULT_MAX_RETRY, 0),
    factor: checkNumber("backoff.factor", backoff.factor ?? 2, 1),
    maxDelay: checkNumber("backoff.maxDelay", backoff.maxDelay ?? 30_000, 0),
    jitter: checkNumber("backoff.jitter", backoff.jitter ?? 0.2, 0, 1),
    maxAttempts: checkNumber("backoff.maxAttempts", backoff.maxAttempts ?? 10, 0),
    maxEventSize: options.maxEventSize === undefined ? undefined : checkNumber("maxEventSize", options.maxEventSize, 1),
    decode: decode === "base64" ? decodeBase64 : decode,
    events: checkEventsOption(options.events, "Cannot subscribe"),
    onInvalid: checkChoice("onInvalid", options.onInvalid, "throw"),
    onUnknown: checkChoice("onUnknown", options.onUnknown, "skip"),
    onOpen: options.onOpen,
    onMessage: options.onMessage as ((message: SSEMessage) => unknown) | undefined,
    onError: options.onError,
    shouldRetry: options.shouldRetry ?? defaultShouldRetry,
    onRetry: options.onRetry,
  };
}
