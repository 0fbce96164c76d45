// An event-stream subscription read in the background, for the tests that run hub objects on
// workerd (test/adapters/cloudflare*.test.ts, test/security/cloudflare.test.ts).
import { expect } from "vitest";
import { type ParsedMessage, readMessages } from "../../_helpers/spec-parser.ts";

/** An event-stream subscription read in the background: its messages and comments as they come. */
export class Subscription {
  readonly messages: ParsedMessage[] = [];
  readonly comments: string[] = [];
  readonly controller = new AbortController();
  ended = false;
  #wake: (() => void) | undefined;

  static async open(url: string, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Subscription> {
    const subscription = new Subscription();
    const response = await fetch(url, { ...init, headers, signal: subscription.controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    subscription.#read(response.body!);
    return subscription;
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const message of readMessages(body, (comment) => {
        this.comments.push(comment);
        this.#wake?.();
      })) {
        this.messages.push(message);
        this.#wake?.();
      }
    } catch {
      // Aborted by the test.
    }
    this.ended = true;
    this.#wake?.();
  }

  /** Resolves once `test()` holds; fails after `timeoutMs`. */
  async until(test: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${what}; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async count(n: number): Promise<ParsedMessage[]> {
    await this.until(() => this.messages.length >= n, `${n} messages`);
    return this.messages.slice(0, n);
  }

  close(): void {
    this.controller.abort();
  }
}
