// One real HTTP server (@hono/node-server on port 0) per test file, serving a fresh path per
// handler: for the client's suites that need a server to misbehave on cue.
import { serve } from "@hono/node-server";
import { afterAll, beforeAll } from "vitest";

export type Handler = (request: Request) => Response | Promise<Response>;

/** Starts the server before the file's tests and stops it after; `route(handler)` returns a URL. */
export function routeServer(): { route: (handler: Handler) => string } {
  const routes = new Map<string, Handler>();
  let server: ReturnType<typeof serve>;
  let origin = "";
  let count = 0;
  beforeAll(async () => {
    await new Promise<void>((resolve) => {
      server = serve(
        {
          port: 0,
          hostname: "127.0.0.1",
          fetch: (request) => {
            const handler = routes.get(new URL(request.url).pathname);
            return handler ? handler(request) : new Response("not found", { status: 404 });
          },
        },
        (info) => {
          origin = `http://127.0.0.1:${info.port}`;
          resolve();
        },
      );
    });
  });
  afterAll(async () => {
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    route(handler) {
      const path = `/r${++count}`;
      routes.set(path, handler);
      return `${origin}${path}`;
    },
  };
}
