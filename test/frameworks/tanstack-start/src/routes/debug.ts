import { createFileRoute } from "@tanstack/react-router";
import { app } from "../app";

// A server route: the handler's Response is sent as it is.
export const Route = createFileRoute("/debug")({
  server: { handlers: { GET: () => app.debug() } },
});
