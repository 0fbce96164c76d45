import { fileURLToPath } from "node:url";

// The routes come from ../_shared, outside this app: the build's root is test/frameworks/.
const root = fileURLToPath(new URL("..", import.meta.url));

/** @type {import("next").NextConfig} */
export default {
  turbopack: { root },
  outputFileTracingRoot: root,
  // next start compresses responses by default; it stays on (hertz-sse's no-transform turns it off for event streams).
  compress: true,
};
