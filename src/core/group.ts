/**
 * {@linkcode SSEGroup}: the open streams of an instance, drained gracefully on shutdown.
 *
 * @module
 */

import { type DrainOptions, type DrainPlan, resolveDrain, scheduleWaves } from "./_drain.ts";
import { closeStream, cutStream, type SSEStream } from "./stream.ts";

export type { DrainOptions } from "./_drain.ts";

/**
 * A set of open event streams that can be drained gracefully, for a deploy or a shutdown without
 * a reconnect storm. `sseResponse(request, handler, { group })` adds its stream (and answers 503
 * with `Retry-After` once the group drains); a stream leaves the group when it ends.
 *
 * `drain()` refuses new streams, then closes the open ones in waves spread evenly over `jitter`,
 * each after a `retry:` drawn at random, so that their clients come back (to another instance,
 * behind a load balancer) spread out rather than all at once. A stream closed this way ends with
 * close reason `drain`; one still open at `deadline` is cut, with reason `drain-timeout`.
 *
 * @example Drain on SIGTERM
 * ```ts
 * import { SSEGroup, sseResponse } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const group = new SSEGroup();
 * const response = sseResponse(new Request("http://localhost/time"), async (stream) => {
 *   await stream.send({ data: "hello" });
 *   await new Promise((resolve) => stream.signal.addEventListener("abort", resolve));
 * }, { group, keepAlive: false });
 * assertEquals(group.size, 1);
 * // Deno.addSignalListener("SIGTERM", async () => { await group.drain({ deadline: 20_000, jitter: 5_000 }); Deno.exit(0); });
 * await group.drain({ deadline: 1_000, jitter: 0 });
 * assertEquals(group.size, 0);
 * // With no jitter, every stream is sent the least retry: 100 ms.
 * assertEquals(await response.text(), "data: hello\n\nretry: 100\n\n");
 * ```
 */
export class SSEGroup {
  readonly #streams = new Set<SSEStream>();
  #draining: Promise<void> | undefined = undefined;
  #done: (() => void) | undefined = undefined;

  /** How many streams of the group are open. */
  get size(): number {
    return this.#streams.size;
  }

  /** Whether `drain()` has been called: new streams are refused from then on. */
  get draining(): boolean {
    return this.#draining !== undefined;
  }

  /**
   * Adds an open stream; it leaves the group when it ends. A stream added while the group drains
   * is closed at once (reason `drain`). `sseResponse` calls this for its `group` option.
   */
  add(stream: SSEStream): void {
    if (this.#draining !== undefined) {
      closeStream(stream, "drain");
      return;
    }
    if (stream.signal.aborted || this.#streams.has(stream)) return;
    this.#streams.add(stream);
    void stream.closed.then(() => this.#delete(stream));
  }

  /**
   * Drains the group (see {@linkcode SSEGroup}): resolves once every stream has ended, at the
   * latest at `deadline`. Calling it again returns the same promise. Rejects with a `RangeError`
   * for invalid options.
   */
  drain(options: DrainOptions = {}): Promise<void> {
    if (this.#draining !== undefined) return this.#draining;
    let plan: DrainPlan;
    try {
      plan = resolveDrain(options, "drain the group");
    } catch (error) {
      return Promise.reject(error);
    }
    const streams = this.#streams;
    let cancel: (() => void) | undefined;
    let deadline: ReturnType<typeof setTimeout> | undefined;
    this.#draining = new Promise<void>((resolve) => {
      this.#done = () => {
        this.#done = undefined;
        cancel?.();
        if (deadline !== undefined) clearTimeout(deadline);
        resolve();
      };
    });
    if (streams.size === 0) {
      this.#done!();
      return this.#draining;
    }
    deadline = setTimeout(() => {
      for (const stream of [...streams]) cutStream(stream, "drain-timeout");
      streams.clear();
      this.#done?.();
    }, plan.deadline);
    cancel = scheduleWaves([...streams], plan, (stream, retry) => {
      if (!streams.has(stream)) return;
      // Queued after what the stream holds already: the client gets every event, then retry.
      void stream.write(retry);
      closeStream(stream, "drain");
    });
    return this.#draining;
  }

  #delete(stream: SSEStream): void {
    if (!this.#streams.delete(stream)) return;
    if (this.#streams.size === 0) this.#done?.();
  }
}
