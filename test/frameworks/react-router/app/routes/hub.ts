import type { LoaderFunctionArgs } from "react-router";
import { app } from "../app.server";

export function loader({ request }: LoaderFunctionArgs): Response | Promise<Response> {
  return app.subscribe(request);
}
