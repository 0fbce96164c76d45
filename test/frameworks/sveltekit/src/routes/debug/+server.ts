import { app } from "$lib/app.server";
import type { RequestHandler } from "./$types";

export const GET: RequestHandler = () => app.debug();
