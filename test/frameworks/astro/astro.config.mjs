import node from "@astrojs/node";
import { defineConfig } from "astro/config";

// Server-rendered on demand, served by @astrojs/node's own HTTP server (HOST and PORT from the environment).
export default defineConfig({
  output: "server",
  adapter: node({ mode: "standalone" }),
});
