// Types of routes.js, for the TypeScript apps (Next.js, SvelteKit, Astro, React Router, Nitro) and the test.
export declare const KEEP_ALIVE: number;
export declare const BOUNDED_DURATION: number;

export interface Routes {
  sse(request: Request): Response;
  subscribe(request: Request): Response | Promise<Response>;
  publish(request: Request): Promise<Response>;
  debug(): Response;
  handle(request: Request): Response | Promise<Response>;
}

export declare function routes(
  hertz: { sseResponse: (...args: never[]) => Response; SSEHub: new (options: never) => unknown },
  options?: { runtime?: string },
): Routes;
