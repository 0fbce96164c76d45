import { app } from "../routes";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export function GET(): Response {
  return app.debug();
}
