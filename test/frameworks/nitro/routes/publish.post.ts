import { defineHandler } from "nitro/h3";
import { app } from "../utils/app.ts";

export default defineHandler((event) => app.publish(event.req));
