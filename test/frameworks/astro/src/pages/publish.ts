import type { APIRoute } from "astro";
import { app } from "../lib/app";

export const POST: APIRoute = ({ request }) => app.publish(request);
