/**
 * Why a stream or a hub subscription ended: one internal type for every place where one ends, so
 * that metrics (`SSEMetrics.streamClosed`) and logs get the same low-cardinality reason.
 *
 * @module
 */

import type { SSECloseReason } from "./metrics.ts";

/** Why a stream or a subscription ended (the metrics' `SSECloseReason`). */
export type CloseReason = SSECloseReason;

/**
 * The error a body fails with when the server cuts it (slow consumer, drain deadline): erroring
 * the body is what makes every runtime destroy the connection instead of ending it gracefully,
 * which would leave its unsent bytes buffered for a client that does not read.
 */
export function cutError(reason: CloseReason): DOMException {
  const why =
    reason === "slow-consumer"
      ? "its queue passed its bound"
      : reason === "drain-timeout"
        ? "it read nothing for drainTimeout"
        : reason;
  return new DOMException(`The event stream was cut: ${why}`, "AbortError");
}
