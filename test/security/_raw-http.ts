// A raw HTTP/1.1 client over a TCP socket, for the adversarial tests: it can stop reading (as a
// frozen or malicious client does), send what fetch() refuses to (odd Host headers, methods), and
// tell a graceful end (the chunked terminator) from a cut connection.
import { connect, type Socket } from "node:net";

export interface RawResponse {
  /** The status line and headers, as received. */
  head: string;
  status: number;
  socket: Socket;
  /** Body bytes received so far (chunked framing included). */
  received(): number;
  /** Resumes reading and resolves with the body text and whether the stream ended with the chunked terminator (a graceful end). */
  finish(withinMs: number): Promise<{ body: string; graceful: boolean; closed: boolean }>;
}

/** Sends `request` (raw text) to `url`'s host and port, reads the response head, then stops reading. */
export function rawRequest(url: string, request: string): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let headDone = false;
    let bytes = 0;
    let closed = false;
    const closedPromise = new Promise<void>((r) =>
      socket.once("close", () => {
        closed = true;
        r();
      }),
    );
    socket.on("error", () => {});
    socket.once("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.byteLength;
      if (headDone) return;
      const all = Buffer.concat(chunks);
      const end = all.indexOf("\r\n\r\n");
      if (end === -1) return;
      headDone = true;
      // The client stops reading here: nothing more is taken from the socket until finish().
      socket.pause();
      const head = all.subarray(0, end).toString("latin1");
      chunks.length = 0;
      chunks.push(all.subarray(end + 4));
      bytes = all.byteLength - end - 4;
      resolve({
        head,
        status: Number(head.split(" ")[1]),
        socket,
        received: () => bytes,
        async finish(withinMs) {
          socket.resume();
          const timer = new Promise<void>((r) => setTimeout(r, withinMs));
          await Promise.race([closedPromise, timer]);
          const body = Buffer.concat(chunks).toString("latin1");
          socket.destroy();
          return { body, graceful: /(^|\r\n)0\r\n\r\n$/.test(body), closed };
        },
      });
    });
    socket.once("close", () => {
      if (!headDone)
        reject(new Error(`The connection closed before a response head: ${Buffer.concat(chunks).toString("latin1")}`));
    });
  });
}

/** A GET request for `path`, with extra header lines. */
export function get(url: string, path: string, headers: string[] = []): string {
  const { host } = new URL(url);
  return [`GET ${path} HTTP/1.1`, `Host: ${host}`, ...headers, "", ""].join("\r\n");
}

/** Polls `probe` until it returns a value, or fails after `withinMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  withinMs: number,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
