// Express 5 with the compression middleware on for every route, as apps usually have it.
// hertz-sse/node's toNodeListener turns each fetch-style route into Express middleware: the
// request (with a signal that aborts when the client leaves) in, the Response written out.
import compression from "compression";
import express from "express";
import * as hertz from "hertz-sse";
import { SSEHub } from "hertz-sse/hub";
import { toNodeListener } from "hertz-sse/node";
import { routes } from "../_shared/routes.js";

const { sse, subscribe, publish, debug } = routes({ ...hertz, SSEHub });
const app = express();
app.use(compression());
app.get("/sse", toNodeListener(sse));
app.get("/hub", toNodeListener(subscribe));
app.post("/publish", toNodeListener(publish));
app.get("/debug", toNodeListener(debug));
const port = Number(process.env.PORT ?? 3000);
app.listen(port, process.env.HOST ?? "127.0.0.1", () => console.log(`listening ${port}`));
