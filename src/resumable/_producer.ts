/**
 * The producer of one generation of a resumable stream: it reads the source and publishes each
 * frame to the backplane, with heartbeats, until the source ends, fails, outgrows its bounds, or a
 * terminal entry published by anyone (a `stop()` on another instance, a subscriber that declared
 * it lost) tells it to stop, which aborts the `signal` its source was given.
 *
 * It depends only on a {@linkcode Backplane} and plain options, and keeps no state that the
 * backplane does not also hold, so that any host can run it: a long-lived server through
 * `ResumableStreams`, or a Durable Object kept alive with `waitUntil`.
 *
 * @module
 */

import { utf8Length } from "../_internal/bytes.ts";
import type { Backplane, BackplaneEntry, BackplaneEvent } from "../hub/backplane.ts";
import { beatEvent, endEvent, headEvent, kindOf, type StreamStatus, type StreamTopics } from "./_entries.ts";
import { type Frame, type ResumableSource, readSource, toBackplaneFrame } from "./_source.ts";
import type { FailureInfo, TerminalFrames } from "./terminal-frames.ts";

/** What a producer needs. */
export interface ProducerOptions {
  readonly backplane: Backplane;
  readonly topics: StreamTopics;
  readonly source: ResumableSource;
  /** Milliseconds between heartbeats. */
  readonly heartbeat: number;
  readonly maxFrames: number;
  readonly maxBytes: number;
  readonly maxEventSize: number;
  readonly frames: Required<TerminalFrames>;
  /** Aborting it stops the stream, as `stop()` does. */
  readonly signal?: AbortSignal;
  readonly onError: (error: unknown) => void;
}

/** A running producer. */
export interface Producer {
  /** Resolves with how the generation ended, once the producer has published its end (or given up). */
  readonly finished: Promise<Exclude<StreamStatus, "active">>;
  /** Stops the generation from this instance: aborts the source and publishes the stop frame. */
  stop(reason: unknown): void;
  /** Ends the producer with a failure frame, as when its source throws (used on shutdown). */
  fail(error: unknown): void;
}

class LimitError extends RangeError {}

const ignore = (): void => {};

/** What ended the source, when it did not end by itself. */
type Outcome =
  | { readonly kind: "stop"; readonly reason: unknown }
  | { readonly kind: "fail"; readonly info: FailureInfo }
  | { readonly kind: "seen"; readonly status: Exclude<StreamStatus, "active"> };

/**
 * Starts a generation: subscribes to the frames topic (to hear a stop from any instance),
 * publishes the head and a first heartbeat, and resolves once it has, with the producer running
 * on. Rejects, having started nothing, when the backplane refuses those first publishes.
 */
export async function startProducer(options: ProducerOptions): Promise<Producer> {
  const { backplane, topics, heartbeat, frames, onError } = options;
  const controller = new AbortController();
  let outcome: Outcome | undefined;
  let ending = false;
  const end = (value: Outcome): void => {
    if (outcome !== undefined || ending) return;
    outcome = value;
    controller.abort(new DOMException("The stream was stopped", "AbortError"));
  };

  const subscription = backplane.subscribe(topics.frames, (entry: BackplaneEntry) => {
    // A terminal entry this producer did not write: stopped or declared lost elsewhere.
    if (ending) return;
    const kind = kindOf(entry);
    if (kind.kind === "end") end({ kind: "seen", status: kind.status });
  });
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    if (subscription.ready !== undefined) await subscription.ready;
    await backplane.publish(topics.head, headEvent(Date.now()));
    await backplane.publish(topics.frames, beatEvent(Date.now()));
  } catch (error) {
    subscription.unsubscribe();
    throw error;
  }
  timer = setInterval(() => {
    try {
      Promise.resolve(backplane.publish(topics.frames, beatEvent(Date.now()))).catch(onError);
    } catch (error) {
      onError(error);
    }
  }, heartbeat);

  const external = options.signal;
  const onExternalAbort = (): void => end({ kind: "stop", reason: external?.reason });
  if (external !== undefined) {
    if (external.aborted) onExternalAbort();
    else external.addEventListener("abort", onExternalAbort, { once: true });
  }

  let count = 0;
  let bytes = 0;
  // Returns the publish's promise only when the backplane answers asynchronously (Redis): an
  // in-memory publish is synchronous, and awaiting it would cost a microtask per frame.
  const emit = (frame: Frame): void | Promise<void> => {
    count++;
    bytes += utf8Length(frame.data) + (frame.event === undefined ? 0 : utf8Length(frame.event));
    if (count > options.maxFrames || bytes > options.maxBytes) {
      throw new LimitError(
        `Cannot relay the stream: it exceeds ${count > options.maxFrames ? `"maxFrames" (${options.maxFrames})` : `"maxBytes" (${options.maxBytes})`}`,
      );
    }
    const published = backplane.publish(topics.frames, frame);
    if (typeof published !== "string") return published.then(ignore);
  };

  const publishEnd = async (status: Exclude<StreamStatus, "active">, frame: BackplaneEvent | undefined): Promise<void> => {
    ending = true;
    try {
      await backplane.publish(topics.frames, endEvent(status, Date.now(), frame));
    } catch (error) {
      onError(error);
    }
  };

  const frameOf = <T>(make: (value: T) => unknown, value: T): BackplaneEvent | undefined => {
    try {
      return toBackplaneFrame(make(value) as Parameters<typeof toBackplaneFrame>[0]);
    } catch (error) {
      onError(error);
      return undefined;
    }
  };

  const run = async (): Promise<Exclude<StreamStatus, "active">> => {
    try {
      await readSource(options.source, controller.signal, options.maxEventSize, emit);
    } catch (error) {
      if (outcome === undefined) {
        if (error instanceof LimitError) {
          onError(error);
          end({ kind: "fail", info: { reason: "limit", error } });
        } else {
          onError(error);
          end({ kind: "fail", info: { reason: "error", error } });
        }
      }
    } finally {
      clearInterval(timer);
      external?.removeEventListener("abort", onExternalAbort);
    }
    const result = outcome;
    try {
      if (result === undefined) {
        ending = true;
        await publishEnd("done", frameOf(frames.done, undefined));
        return "done";
      }
      if (result.kind === "seen") return result.status;
      if (result.kind === "stop") {
        await publishEnd("stopped", frameOf(frames.stop, result.reason));
        return "stopped";
      }
      await publishEnd("failed", frameOf(frames.failure, result.info));
      return "failed";
    } finally {
      subscription.unsubscribe();
    }
  };

  return {
    finished: run(),
    stop: (reason) => end({ kind: "stop", reason }),
    fail: (error) => end({ kind: "fail", info: { reason: "error", error } }),
  };
}
