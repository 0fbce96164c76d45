/**
 * The last step of a publish: the event handed to the backplane, with a slot of the publish gate
 * already taken and given back once the backplane has answered.
 *
 * @module
 */

import { _record, type SSEMetrics } from "../core/metrics.ts";
import { type PublishGate, settledPromise } from "./_publish-gate.ts";
import type { Backplane, BackplaneEvent } from "./backplane.ts";

/**
 * Publishes `message` on `backplane`, releasing `gate`'s slot when it has answered (at once for a
 * synchronous backplane). With `metrics`, tells them how long that took and whether it failed;
 * without, no clock is read: the path without metrics costs nothing for them.
 */
export function sendToBackplane(
  backplane: Backplane,
  gate: PublishGate,
  topic: string,
  message: BackplaneEvent,
  metrics: SSEMetrics | undefined,
): Promise<string> {
  if (metrics !== undefined) return sendMeasured(backplane, gate, topic, message, metrics);
  let result: string | Promise<string>;
  try {
    result = backplane.publish(topic, message);
  } catch (error) {
    gate.release();
    return Promise.reject(error);
  }
  if (typeof result === "string") {
    gate.release();
    return settledPromise(result);
  }
  return Promise.resolve(result).finally(gate.releaseFn);
}

function sendMeasured(
  backplane: Backplane,
  gate: PublishGate,
  topic: string,
  message: BackplaneEvent,
  metrics: SSEMetrics,
): Promise<string> {
  const start = performance.now();
  const done = (ok: boolean): void => {
    gate.release();
    _record(metrics, "published", performance.now() - start, ok);
  };
  let result: string | Promise<string>;
  try {
    result = backplane.publish(topic, message);
  } catch (error) {
    done(false);
    return Promise.reject(error);
  }
  if (typeof result === "string") {
    done(true);
    return settledPromise(result);
  }
  return Promise.resolve(result).then(
    (id) => {
      done(true);
      return id;
    },
    (error: unknown) => {
      done(false);
      throw error;
    },
  );
}
