// Serves the runtime-test app with Bun.serve on a free port and prints it. The idle timeout is set
// short on purpose: withBunIdleTimeout must lift it for event streams.
import { withBunIdleTimeout } from "../../src/adapters/bun.ts";
import { handle } from "./app.ts";

declare const Bun: {
  serve(options: {
    port: number;
    hostname: string;
    idleTimeout: number;
    fetch: (request: Request, server: { timeout(request: Request, seconds: number): void }) => unknown;
  }): { port: number };
};

const server = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 1, fetch: withBunIdleTimeout(handle) });
console.log(`listening ${server.port}`);
