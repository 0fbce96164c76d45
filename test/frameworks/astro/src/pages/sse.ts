import type { APIRoute } from "astro";
import { app } from "../lib/app";

// An SSR endpoint: Astro sends the Response it returns as it is.
export const GET: APIRoute = ({ request }) => app.sse(request);
