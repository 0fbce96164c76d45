import { app } from "$lib/app.server";
import type { RequestHandler } from "./$types";

export const POST: RequestHandler = ({ request }) => app.publish(request);
