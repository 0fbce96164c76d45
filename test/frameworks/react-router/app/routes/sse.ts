import type { LoaderFunctionArgs } from "react-router";
import { app } from "../app.server";

// A resource route: the loader's Response goes to the client as it is.
export function loader({ request }: LoaderFunctionArgs): Response {
  return app.sse(request);
}
