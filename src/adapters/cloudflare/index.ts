/**
 * `hertz-sse/cloudflare`: the hub in a Durable Object, so that every subscriber and publisher of
 * a topic meets in one place however many isolates serve the Worker (a Worker's response stream
 * can only be written from the request that created it). {@linkcode SSEHubObject} is the object,
 * {@linkcode DurableObjectBackplane} its replay log in the object's storage, {@linkcode hubRouter}
 * and {@linkcode publishTo} the Worker side; {@linkcode ResumableStreamObject} runs one resumable
 * stream (model output that survives reloads) per object. The Cloudflare types are declared structurally
 * (`…Like`), so the library does not depend on `@cloudflare/workers-types`. The manual is
 * docs/cloudflare.md.
 *
 * @example A Worker with one hub object per allowed topic
 * ```ts
 * import { type DurableObjectNamespaceLike, hubRouter, publishTo, SSEHubObject } from "@hertz/sse/cloudflare";
 *
 * interface Env {
 *   HUB: DurableObjectNamespaceLike;
 * }
 *
 * // wrangler.jsonc: "durable_objects": { "bindings": [{ "name": "HUB", "class_name": "Hub" }] }
 * export class Hub extends SSEHubObject<Env> {}
 *
 * const worker = {
 *   async fetch(request: Request, env: Env): Promise<Response> {
 *     const url = new URL(request.url);
 *     if (url.pathname === "/events") return hubRouter(env.HUB, { topics: ["news"] })(request); // GET ?topic=news
 *     if (url.pathname === "/news" && request.method === "POST") {
 *       // Authorise the publisher here.
 *       const id = await publishTo(env.HUB, "news", { event: "headline", data: await request.text() });
 *       return Response.json({ id });
 *     }
 *     return new Response("Not found", { status: 404 });
 *   },
 * };
 * export default worker;
 * ```
 *
 * @module
 */

export { DurableObjectBackplane, type DurableObjectBackplaneOptions } from "./backplane.ts";
export { SSEHubObject, type SSEHubObjectOptions } from "./hub-object.ts";
export { ResumableStreamObject, type ResumableStreamObjectOptions } from "./resumable-object.ts";
export { type HubRouterOptions, hubRouter, type PublishToOptions, publishTo } from "./router.ts";
export type {
  DurableObjectNamespaceLike,
  DurableObjectStateLike,
  DurableObjectStorageLike,
  DurableObjectStubLike,
} from "./types.ts";
