// Which stage should turn SSEStream's text into bytes? Measures, on the runtime it runs on, the
// throughput of a ReadableStream<string> of event text read to the end through:
//   1. TextEncoderStream                         (the web-standard stage)
//   2. a TransformStream calling TextEncoder      (same bytes, native encoder)
//   3. no stage: TextEncoder inside the source's pull (what SSEStream does)
// with small (60-byte) and large (16 KiB) chunks. Run: npx tsx bench/encoder-stage.ts
// (also: deno run bench/encoder-stage.ts, bun bench/encoder-stage.ts). Prints medians of 5 runs.
const SMALL = `data: ${JSON.stringify({ symbol: "AAPL", price: 189.51, ts: 1732600000000 })}\n\n`;
const LARGE = `${"data: " + "x".repeat(160) + "\n"}`.repeat(100) + "\n";

function source(chunk: string, count: number): ReadableStream<string> {
  let sent = 0;
  return new ReadableStream<string>(
    {
      pull(controller) {
        controller.enqueue(chunk);
        if (++sent === count) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}

function bytesSource(chunk: string, count: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let sent = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        controller.enqueue(encoder.encode(chunk));
        if (++sent === count) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}

function nativeStage(): TransformStream<string, Uint8Array> {
  const encoder = new TextEncoder();
  return new TransformStream({ transform: (chunk, controller) => controller.enqueue(encoder.encode(chunk)) });
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  let bytes = 0;
  const reader = stream.getReader();
  while (true) {
    const { value, done } = await reader.read();
    if (done) return bytes;
    bytes += value.byteLength;
  }
}

const variants: Record<string, (chunk: string, count: number) => ReadableStream<Uint8Array>> = {
  TextEncoderStream: (c, n) =>
    source(c, n).pipeThrough(new TextEncoderStream() as unknown as TransformStream<string, Uint8Array>),
  "TransformStream(TextEncoder)": (c, n) => source(c, n).pipeThrough(nativeStage()),
  "TextEncoder in pull (SSEStream)": (c, n) => bytesSource(c, n),
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const runtime =
  typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"
    ? "deno"
    : typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
      ? "bun"
      : `node ${(globalThis as { process?: { version: string } }).process?.version}`;
console.log(`runtime: ${runtime}`);
for (const [label, chunk, count] of [
  ["60 B chunks", SMALL, 200_000],
  ["16 KiB chunks", LARGE, 3_000],
] as const) {
  console.log(`\n${label} (${count} chunks)`);
  const results: Record<string, number> = {};
  for (const [name, make] of Object.entries(variants)) {
    const rates: number[] = [];
    for (let run = 0; run < 5; run++) {
      const started = performance.now();
      const bytes = await drain(make(chunk, count));
      rates.push(bytes / 1e6 / ((performance.now() - started) / 1000));
    }
    results[name] = median(rates);
  }
  const base = results.TextEncoderStream!;
  for (const [name, rate] of Object.entries(results)) {
    console.log(`  ${name.padEnd(32)} ${rate.toFixed(0).padStart(6)} MB/s  ${(rate / base).toFixed(2)}x`);
  }
}

export {};
