// Serves the runtime-test app with Deno.serve on a free port and prints it.
import { handle } from "./app.ts";

declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen(addr: { port: number }): void },
    handler: (request: Request) => Response | Promise<Response>,
  ): unknown;
};

Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: ({ port }) => console.log(`listening ${port}`) }, handle);
