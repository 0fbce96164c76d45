// A raw HTTP/1.1 event-stream client for the framework scenario: it sees the bytes and headers as
// the server sent them (nothing decompressed, nothing buffered), stamps each event with the time
// its chunk arrived, and leaves by destroying its socket, as a closed browser tab does.
import { type IncomingHttpHeaders, request } from "node:http";
import { constants, createBrotliDecompress, createGunzip, createInflate } from "node:zlib";

export interface ReceivedEvent {
  event: string;
  data: string;
  id: string | undefined;
  /** Date.now() when the chunk that completed it arrived. */
  at: number;
  /** Which chunk (0-based) completed it. */
  chunk: number;
}

export interface OpenStream {
  status: number;
  headers: IncomingHttpHeaders;
  events: ReceivedEvent[];
  /** Chunks received so far. */
  chunks: number;
  /** Resolves with the `n`-th event (0-based), waiting for it if needed. */
  event(n: number, timeoutMs?: number): Promise<ReceivedEvent>;
  /** Resolves once the response has ended: `true` if it ended cleanly, `false` if it was cut. */
  ended(timeoutMs?: number): Promise<boolean>;
  /** Resolves once at least one body chunk has arrived. */
  firstChunk(timeoutMs?: number): Promise<void>;
  /** The whole body so far, as text. */
  text(): string;
  /** Destroys the connection. */
  close(): void;
}

/** Opens `url` and resolves once the status line and headers have arrived (rejects after `timeoutMs`). */
export function open(url: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`No response headers from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    const req = request(url, { agent: false, headers: { accept: "text/event-stream", ...headers } }, (res) => {
      clearTimeout(timer);
      const events: ReceivedEvent[] = [];
      const waiters = new Set<() => void>();
      let text = "";
      let pending = "";
      let chunks = 0;
      let ended = false;
      let cleanly = false;
      const wake = () => {
        for (const waiter of waiters) waiter();
      };
      // A compressed body is decompressed as it arrives, so that what a compressor held back shows.
      const flush = { flush: constants.Z_SYNC_FLUSH };
      const encoding = res.headers["content-encoding"];
      const decoder =
        encoding === "gzip"
          ? createGunzip(flush)
          : encoding === "br"
            ? createBrotliDecompress({ flush: constants.BROTLI_OPERATION_FLUSH })
            : encoding === "deflate"
              ? createInflate(flush)
              : undefined;
      const body = decoder === undefined ? res : res.pipe(decoder);
      body.on("data", (chunk: Buffer) => {
        const at = Date.now();
        const part = chunk.toString("utf8");
        text += part;
        pending += part;
        let end = pending.indexOf("\n\n");
        while (end !== -1) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          end = pending.indexOf("\n\n");
          const fields = { event: "message", data: [] as string[], id: undefined as string | undefined };
          let any = false;
          for (const line of block.split("\n")) {
            if (line.startsWith(":") || line === "") continue;
            const colon = line.indexOf(":");
            const name = colon === -1 ? line : line.slice(0, colon);
            const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (name === "data") {
              fields.data.push(value);
              any = true;
            } else if (name === "event") fields.event = value;
            else if (name === "id") fields.id = value;
          }
          if (any) events.push({ event: fields.event, data: fields.data.join("\n"), id: fields.id, at, chunk: chunks });
        }
        chunks++;
        wake();
      });
      const finish = () => {
        ended = true;
        wake();
      };
      // The decoder's end, not the socket's: it may still hold the last event when the socket closes.
      body.on("end", () => {
        cleanly = true;
        finish();
      });
      body.on("close", finish);
      body.on("error", finish);
      res.on("error", finish);
      const waitFor = <T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
        new Promise((resolveWait, rejectWait) => {
          const test = () => {
            const value = check();
            if (value !== undefined) {
              cleanup();
              resolveWait(value);
            } else if (ended) {
              cleanup();
              rejectWait(new Error(`The stream ended before ${what}; received:\n${text}`));
            }
          };
          const timer = setTimeout(() => {
            cleanup();
            rejectWait(new Error(`No ${what} within ${timeoutMs} ms; received:\n${text}`));
          }, timeoutMs);
          const cleanup = () => {
            clearTimeout(timer);
            waiters.delete(test);
          };
          waiters.add(test);
          test();
        });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        get chunks() {
          return chunks;
        },
        event: (n, timeoutMs = 5000) => waitFor(() => events[n], `event #${n}`, timeoutMs),
        ended: (timeoutMs = 5000) => waitFor(() => (ended ? cleanly : undefined), "the end", timeoutMs),
        firstChunk: (timeoutMs = 5000) => waitFor(() => (chunks > 0 ? true : undefined), "first chunk", timeoutMs).then(() => {}),
        text: () => text,
        close: () => {
          req.destroy();
          res.destroy();
        },
      });
    });
    req.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}

/** A plain request; resolves with the status and body text. */
export async function call(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, init);
  return { status: response.status, text: await response.text() };
}
