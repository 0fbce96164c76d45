import { app } from "$lib/app.server";
import type { RequestHandler } from "./$types";

export const GET: RequestHandler = ({ request }) => app.subscribe(request);
