/**
 * OpenTelemetry SDKs registered globally for one test, with in-memory readers: what @scopeguard/core
 * recorded, as data points and finished spans. Register before creating the engine (an engine takes
 * the meter of the provider registered at its construction); `reset()` unregisters everything.
 */
import { context, metrics, trace, type Attributes } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import type { TestIssuer } from '@scopeguard/testing';
import { send } from './http';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** A pull reader: collects when the test asks. */
class TestReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export interface RecordedPoint {
  readonly attributes: Attributes;
  /** A counter's sum, or a histogram's count. */
  readonly value: number;
  readonly unit: string;
  readonly histogram?: Histogram;
}

export interface TestTelemetry {
  /** Data points of the metric named `name` (every scope), cumulative since registration. */
  points(name: string): Promise<RecordedPoint[]>;
  /** The sum of the points of `name` whose attributes include `match`. */
  count(name: string, match?: Attributes): Promise<number>;
  /** Every metric as collected, for assertions about what is (not) exported. */
  everything(): Promise<unknown>;
  spans(name?: string): ReadableSpan[];
  reset(): Promise<void>;
}

export function installTelemetry(): TestTelemetry {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  metrics.setGlobalMeterProvider(meterProvider);
  trace.setGlobalTracerProvider(tracerProvider);
  let done = false;

  const points = async (name: string): Promise<RecordedPoint[]> => {
    const { resourceMetrics } = await reader.collect();
    return resourceMetrics.scopeMetrics.flatMap((scope) =>
      scope.metrics
        .filter((metric) => metric.descriptor.name === name)
        .flatMap((metric) =>
          (metric.dataPoints as DataPoint<number | Histogram>[]).map((point) =>
            typeof point.value === 'number'
              ? { attributes: point.attributes, value: point.value, unit: metric.descriptor.unit }
              : { attributes: point.attributes, value: point.value.count, unit: metric.descriptor.unit, histogram: point.value },
          ),
        ),
    );
  };
  return {
    points,
    async count(name, match = {}) {
      const found = await points(name);
      return found
        .filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value))
        .reduce((sum, point) => sum + point.value, 0);
    },
    async everything() {
      return (await reader.collect()).resourceMetrics.scopeMetrics;
    },
    spans(name) {
      const all = exporter.getFinishedSpans();
      return name === undefined ? all : all.filter((span) => span.name === name);
    },
    async reset() {
      if (done) return;
      done = true;
      metrics.disable();
      trace.disable();
      context.disable();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

/**
 * The traffic the adapters' telemetry tests count: 5 GET /orders a worker may make (one token, so one
 * verification), a POST it may not (403), and a request without a token (401).
 */
export async function decisionTraffic(base: string, issuer: TestIssuer): Promise<void> {
  const authorization = `Bearer ${await issuer.mint({ clientId: 'worker', scope: 'orders.read' })}`;
  for (let i = 0; i < 5; i++) expect((await send(`${base}/orders`, { headers: { authorization } })).status).toBe(200);
  expect((await send(`${base}/orders`, { method: 'POST', headers: { authorization } })).status).toBe(403);
  expect((await send(`${base}/orders`)).status).toBe(401);
}
