import type { APIRoute } from "astro";
import { app } from "../lib/app";

export const GET: APIRoute = ({ request }) => app.subscribe(request);
