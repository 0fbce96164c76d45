// Reading OpenTelemetry metrics back synchronously in tests, with the real SDK.
import { type DataPoint, type Histogram, MeterProvider, MetricReader, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { expect } from "vitest";

export class TestReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export async function readMetrics(reader: MetricReader): Promise<Map<string, DataPoint<number | Histogram>[]>> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  return flatten(resourceMetrics);
}

function flatten(resourceMetrics: ResourceMetrics): Map<string, DataPoint<number | Histogram>[]> {
  const out = new Map<string, DataPoint<number | Histogram>[]>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) out.set(metric.descriptor.name, metric.dataPoints as DataPoint<number | Histogram>[]);
  }
  return out;
}

export function sumWhere(points: DataPoint<number | Histogram>[] | undefined, match: Record<string, unknown> = {}): number {
  let total = 0;
  for (const point of points ?? []) {
    if (!Object.entries(match).every(([k, v]) => point.attributes[k] === v)) continue;
    total += typeof point.value === "number" ? point.value : point.value.count;
  }
  return total;
}

export function newReader(): { reader: TestReader; provider: MeterProvider } {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  return { reader, provider };
}
