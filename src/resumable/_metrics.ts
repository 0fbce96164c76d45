/**
 * The metrics of `ResumableStreams`: its responses are `SSEStream`s, whose callbacks are passed on
 * with the kind `resumable`.
 *
 * @module
 */

import { _record, type SSEMetrics } from "../core/metrics.ts";

/** `metrics` as the `metrics` option of a resumable stream's `SSEStream`: the same callbacks, kind `resumable`. */
export function resumableMetrics(metrics: SSEMetrics): SSEMetrics {
  return {
    streamOpened: () => _record(metrics, "streamOpened", "resumable"),
    streamClosed: (info) => _record(metrics, "streamClosed", { kind: "resumable", reason: info.reason, duration: info.duration }),
    eventsSent: (_kind, events, bytes) => _record(metrics, "eventsSent", "resumable", events, bytes),
  };
}
