/**
 * `hertz-sse/resumable`: streams produced independently of the connections that read them (model
 * output, typically), kept on a backplane so that a client resumes exactly where it was, after a
 * reload or on another instance, and stopped only on purpose, from any instance.
 *
 * @example Usage
 * ```ts
 * import { ResumableStreams } from "@hertz/sse/resumable";
 *
 * const streams = new ResumableStreams();
 *
 * const worker = {
 *   async fetch(request: Request): Promise<Response> {
 *     const id = new URL(request.url).searchParams.get("id") ?? "demo";
 *     if (request.method === "POST") {
 *       await streams.start(id, (signal) => fetch("https://example.com/v1/stream", { signal }));
 *     }
 *     return streams.subscribe(request, id); // from Last-Event-ID, or from the first frame
 *   },
 * };
 * export default worker;
 * ```
 *
 * @module
 */
export type { ResumableSource, SourceBody, SourceItem } from "./_source.ts";
export {
  ResumableStreams,
  type ResumableStreamsOptions,
  type ResumableSubscribeOptions,
  type StartOptions,
  type StreamStatus,
} from "./resumable-streams.ts";
export type { FailureInfo, FailureReason, TerminalFrames } from "./terminal-frames.ts";
