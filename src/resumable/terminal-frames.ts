/**
 * The frames that end a resumable stream: what subscribers receive when a stream fails, is stopped
 * or is done.
 *
 * @module
 */

import type { SSEEvent } from "../core/event.ts";

/**
 * Why a stream failed: its source threw (`"error"`), its producer stopped sending heartbeats
 * (`"lost"`: its process died), or it outgrew `maxFrames` or `maxBytes` (`"limit"`).
 *
 * @example Usage
 * ```ts
 * import type { FailureReason } from "@hertz/sse/resumable";
 *
 * const reason: FailureReason = "lost";
 * ```
 */
export type FailureReason = "error" | "lost" | "limit";

/**
 * What {@linkcode TerminalFrames.failure} is told about a failure. `error` is what the source
 * threw, on the instance that ran it; it is absent for `"lost"`, which another instance detects.
 *
 * @example Usage
 * ```ts
 * import type { FailureInfo } from "@hertz/sse/resumable";
 *
 * const info: FailureInfo = { reason: "error", error: new Error("upstream answered 500") };
 * ```
 */
export interface FailureInfo {
  /** Why the stream failed. */
  readonly reason: FailureReason;
  /** What the source threw, when it threw. Never sent to clients by the default frame. */
  readonly error?: unknown;
}

/**
 * The terminal frames: each a function returning the event every subscriber receives last (its
 * `event` and `data`; any `id` is replaced by the backplane's), or nothing to end the responses
 * without a final event. `data` that is not a string is serialised as JSON.
 *
 * @example AI SDK UI message chunks
 * ```ts
 * import type { TerminalFrames } from "@hertz/sse/resumable";
 *
 * const frames: TerminalFrames = {
 *   failure: () => ({ data: { type: "error", errorText: "The model failed" } }),
 *   stop: () => ({ data: { type: "abort" } }),
 * };
 * ```
 */
export interface TerminalFrames {
  /**
   * The frame sent when the stream fails.
   *
   * @default {`event: error`, `data: {"reason":"error"|"lost"|"limit"}`: never the error's message}
   */
  failure?: (info: FailureInfo) => SSEEvent | undefined;
  /**
   * The frame sent when the stream is stopped, with the reason given to `stop()`.
   *
   * @default {`event: stop`, `data: {"reason":…}` when the reason is a string, else `data: {}`}
   */
  stop?: (reason: unknown) => SSEEvent | undefined;
  /**
   * The frame sent after the source's last frame when it ends normally.
   *
   * @default {none: the responses end after the source's last frame}
   */
  done?: () => SSEEvent | undefined;
}

/** The default terminal frames; see {@linkcode TerminalFrames}. */
export const DEFAULT_TERMINAL_FRAMES: Required<TerminalFrames> = Object.freeze({
  failure: (info: FailureInfo): SSEEvent => ({ event: "error", data: JSON.stringify({ reason: info.reason }) }),
  stop: (reason: unknown): SSEEvent => ({ event: "stop", data: typeof reason === "string" ? JSON.stringify({ reason }) : "{}" }),
  done: (): undefined => undefined,
});
