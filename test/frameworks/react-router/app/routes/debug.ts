import { app } from "../app.server";

export function loader(): Response {
  return app.debug();
}
