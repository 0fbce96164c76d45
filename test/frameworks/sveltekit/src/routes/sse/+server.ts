import { app } from "$lib/app.server";
import type { RequestHandler } from "./$types";

// A +server.ts endpoint: SvelteKit sends the Response it returns as it is.
export const GET: RequestHandler = ({ request }) => app.sse(request);
