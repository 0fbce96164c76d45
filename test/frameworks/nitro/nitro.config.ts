import { defineNitroConfig } from "nitro/config";

// The default preset (node-server): `node .output/server/index.mjs`, PORT and HOST from the environment.
export default defineNitroConfig({
  compatibilityDate: "2025-10-01",
});
