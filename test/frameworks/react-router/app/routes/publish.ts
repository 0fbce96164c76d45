import type { ActionFunctionArgs } from "react-router";
import { app } from "../app.server";

export function action({ request }: ActionFunctionArgs): Promise<Response> {
  return app.publish(request);
}
