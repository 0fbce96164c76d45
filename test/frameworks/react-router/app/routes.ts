import { type RouteConfig, route } from "@react-router/dev/routes";

// Resource routes only: each module exports a loader (GET) or an action (POST) and no component.
export default [
  route("sse", "routes/sse.ts"),
  route("hub", "routes/hub.ts"),
  route("publish", "routes/publish.ts"),
  route("debug", "routes/debug.ts"),
] satisfies RouteConfig;
