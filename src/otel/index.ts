/**
 * `hertz-sse/otel`: hertz-sse's metrics on OpenTelemetry. `@opentelemetry/api` is an optional peer
 * dependency; nothing else of the package imports it.
 *
 * @example Usage
 * ```ts
 * import { SSEHub } from "@hertz/sse/hub";
 * import { otelMetrics } from "@hertz/sse/otel";
 *
 * const hub = new SSEHub({ metrics: otelMetrics() });
 * ```
 *
 * @module
 */
export type {
  SSECloseReason,
  SSEDropReason,
  SSEMetrics,
  SSEReplayResult,
  SSEStreamClosedInfo,
  SSEStreamKind,
} from "../core/metrics.ts";
export { type OtelMetricsOptions, otelMetrics } from "./otel-metrics.ts";
