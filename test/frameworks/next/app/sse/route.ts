import { app } from "../routes";

// An event stream is never static, and hertz-sse's Node path needs the Node runtime.
export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export function GET(request: Request): Response {
  return app.sse(request);
}
