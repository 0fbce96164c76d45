// One set of routes for the whole server (routes() keeps it on globalThis: Next.js bundles each
// route handler on its own).
import * as hertz from "hertz-sse";
import { SSEHub } from "hertz-sse/hub";
import { routes } from "../../_shared/routes.js";

export const app = routes({ ...hertz, SSEHub });
