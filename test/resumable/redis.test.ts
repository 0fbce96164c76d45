// Resumable streams across processes on a real redis-server: a client moved from a killed
// instance to another with its Last-Event-ID gets exactly the remaining frames, a stop on one
// instance cancels the upstream request made on another, and a killed producer is declared
// failed elsewhere within three heartbeats.
import { type ChildProcess, spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { serve } from "@hono/node-server";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MockUpstream, mockAnswer, mockTokens } from "../../examples/ai/mock-upstream.ts";
import { RedisServer, redisRequirement } from "../_helpers/redis.ts";
import { EventReader } from "./_events.ts";

const requirement = redisRequirement();

if (requirement === "fail") {
  describe("resumable streams on Redis", () => {
    it("runs against a real redis-server, which CI must provide", () => {
      throw new Error("redis-server is not installed (CI=true): install it, as .ci/run does with apt-get install redis-server");
    });
  });
}

interface Instance {
  readonly url: string;
  readonly process: ChildProcess;
  readonly errors: string[];
}

const HEARTBEAT = 500;

describe.skipIf(requirement !== "run")("resumable streams on Redis, three processes", () => {
  let redis: RedisServer;
  let upstream: MockUpstream;
  let upstreamServer: ReturnType<typeof serve>;
  let upstreamUrl: string;
  const children: ChildProcess[] = [];
  let prefixes = 0;

  beforeAll(async () => {
    redis = await RedisServer.start();
    upstream = new MockUpstream({ interval: 25, words: 45 });
    upstreamServer = serve({ fetch: (request) => upstream.fetch(request), port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => upstreamServer.once("listening", () => resolve()));
    upstreamUrl = `http://127.0.0.1:${(upstreamServer.address() as AddressInfo).port}/v1/chat/completions`;
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map(stop));
  });
  afterAll(async () => {
    (upstreamServer as unknown as import("node:http").Server)?.closeAllConnections();
    upstreamServer?.close();
    await redis?.stop();
  });

  async function start(prefix: string): Promise<Instance> {
    const child = spawn(process.execPath, ["--import", "tsx", "test/resumable/instance.ts"], {
      env: { ...process.env, REDIS_URL: redis.url, PREFIX: prefix, HEARTBEAT: String(HEARTBEAT) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    const errors: string[] = [];
    const port = await new Promise<number>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`instance exited with ${code}`)));
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const message = JSON.parse(line) as { port?: number; error?: string };
        if (message.port !== undefined) resolve(message.port);
        if (message.error !== undefined) errors.push(message.error);
      });
    });
    return { url: `http://127.0.0.1:${port}`, process: child, errors };
  }

  function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }

  function kill(instance: Instance): Promise<void> {
    return new Promise((resolve) => {
      instance.process.once("exit", () => resolve());
      instance.process.kill("SIGKILL");
    });
  }

  async function three(): Promise<[Instance, Instance, Instance]> {
    const prefix = `r${++prefixes}:`;
    const [a, b, c] = await Promise.all([start(prefix), start(prefix), start(prefix)]);
    return [a!, b!, c!];
  }

  async function startStream(instance: Instance, id: string, prompt: string, url = upstreamUrl): Promise<void> {
    const response = await fetch(
      `${instance.url}/start?id=${id}&prompt=${encodeURIComponent(prompt)}&upstream=${encodeURIComponent(url)}`,
      {
        method: "POST",
      },
    );
    expect(response.status).toBe(201);
  }

  async function follow(instance: Instance, id: string, lastEventId?: string): Promise<EventReader> {
    return new EventReader(
      await fetch(`${instance.url}/stream?id=${id}`, {
        headers: lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId },
      }),
    );
  }

  const content = (data: readonly string[]): string =>
    data
      .filter((d) => d !== "[DONE]")
      .map((d) => (JSON.parse(d) as { choices: { delta: { content?: string } }[] }).choices[0]!.delta.content ?? "")
      .join("");

  it("resumes on C, with Last-Event-ID, exactly the frames a client missed when B was killed; then 204", async () => {
    const [a, b, c] = await three();
    await startStream(a, "s1", "kill B");
    const onB = await follow(b, "s1");
    // About a third of the frames: a role chunk, the tokens, a finish chunk, [DONE].
    const frames = mockTokens(mockAnswer("kill B", 45)).length + 3;
    await onB.until(() => onB.messages.length >= Math.floor(frames / 3));
    const seen = onB.messages.slice();
    await kill(b);
    await onB.ended;
    const lastId = seen.at(-1)!.lastEventId;
    const onC = await follow(c, "s1", lastId);
    await onC.ended;
    const all = [...seen, ...onC.messages];
    expect(all).toHaveLength(frames);
    expect(new Set(all.map((m) => m.lastEventId)).size).toBe(frames);
    expect(onC.messages[0]!.lastEventId).not.toBe(lastId);
    expect(content(all.map((m) => m.data))).toBe(mockAnswer("kill B", 45));
    expect(all.at(-1)!.data).toBe("[DONE]");
    expect(onC.error).toBeUndefined();
    // Nothing left: with its last id, or without an id, C and A answer 204.
    expect((await fetch(`${c.url}/stream?id=s1`, { headers: { "Last-Event-ID": all.at(-1)!.lastEventId } })).status).toBe(204);
    expect((await fetch(`${a.url}/stream?id=s1`)).status).toBe(204);
    expect(await (await fetch(`${c.url}/status?id=s1`)).json()).toEqual({ status: "done" });
    expect([...a.errors, ...c.errors]).toEqual([]);
  });

  it("stops from C: A's upstream fetch is cancelled within 500 ms, and every subscriber gets the stop frame", async () => {
    const [a, b, c] = await three();
    const long = new MockUpstream({ interval: 25, words: 100_000 });
    const server = serve({ fetch: (request) => long.fetch(request), port: 0, hostname: "127.0.0.1" });
    try {
      await new Promise<void>((resolve) => server.once("listening", () => resolve()));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
      await startStream(a, "s2", "stop from C", url);
      const readers = await Promise.all([follow(a, "s2"), follow(b, "s2"), follow(c, "s2")]);
      await Promise.all(readers.map((reader) => reader.until(() => reader.messages.length >= 3)));
      expect(long.stats).toMatchObject({ requests: 1, cancelled: 0 });
      const cancelled = long.until((stats) => stats.cancelled === 1).then(() => performance.now());
      const started = performance.now();
      const stopped = await fetch(`${c.url}/stop?id=s2`, { method: "POST" });
      expect(await stopped.json()).toEqual({ stopped: true });
      expect((await cancelled) - started).toBeLessThan(500);
      await Promise.all(readers.map((reader) => reader.ended));
      for (const reader of readers) expect(reader.messages.at(-1)).toMatchObject({ type: "stop", data: '{"reason":"user"}' });
      expect(await (await fetch(`${b.url}/status?id=s2`)).json()).toEqual({ status: "stopped" });
    } finally {
      (server as unknown as import("node:http").Server).closeAllConnections();
      server.close();
    }
  });

  it("declares the stream failed on other instances within three heartbeats when the producer is killed", async () => {
    const [a, b, c] = await three();
    const long = new MockUpstream({ interval: 25, words: 100_000 });
    const server = serve({ fetch: (request) => long.fetch(request), port: 0, hostname: "127.0.0.1" });
    try {
      await new Promise<void>((resolve) => server.once("listening", () => resolve()));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
      await startStream(a, "s3", "kill the producer", url);
      const readers = await Promise.all([follow(b, "s3"), follow(c, "s3")]);
      await Promise.all(readers.map((reader) => reader.until(() => reader.messages.length >= 3)));
      const started = performance.now();
      await kill(a);
      const ends = await Promise.all(readers.map((reader) => reader.ended.then(() => performance.now() - started)));
      for (const elapsed of ends) expect(elapsed).toBeLessThan(3 * HEARTBEAT);
      for (const reader of readers) expect(reader.messages.at(-1)).toMatchObject({ type: "error", data: '{"reason":"lost"}' });
      expect(await (await fetch(`${c.url}/status?id=s3`)).json()).toEqual({ status: "failed" });
      // The failure frame is the last frame: a reconnect with its id has nothing to resume.
      expect((await fetch(`${b.url}/stream?id=s3`, { headers: { "Last-Event-ID": readers[0]!.lastEventId! } })).status).toBe(204);
    } finally {
      (server as unknown as import("node:http").Server).closeAllConnections();
      server.close();
    }
  });
});
