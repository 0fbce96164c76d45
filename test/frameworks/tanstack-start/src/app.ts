// One set of routes for the server, imported by each server route.
import * as hertz from "hertz-sse";
import { SSEHub } from "hertz-sse/hub";
import { routes } from "../../_shared/routes.js";

export const app = routes({ ...hertz, SSEHub });
