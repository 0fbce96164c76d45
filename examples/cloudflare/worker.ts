// The example app as a Cloudflare module Worker. `npm run example:cloudflare` serves it with
// workerd from npm (no account needed); `wrangler deploy` from this folder publishes it.
import { createApp } from "../app.ts";

export default createApp();
