import { defineHandler } from "nitro/h3";
import { app } from "../utils/app.ts";

// h3 v2 hands the handler the fetch Request (event.req) and sends a returned Response as it is.
export default defineHandler((event) => app.sse(event.req));
