import { app } from "../routes";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export function GET(request: Request): Response | Promise<Response> {
  return app.subscribe(request);
}
