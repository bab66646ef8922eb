import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { NextFunction, Request, Response } from 'express';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  createTokenService,
  jwtAuth,
  memoryStore,
  openTelemetryEvents,
  SECURITY_EVENTS_COUNTER,
  securityEvents,
  trustedHosts,
  type OpenTelemetryEventsOptions,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express.js';
import { FAKE } from '../redaction/fakes.js';

// The OpenTelemetry SDK as an app sets it up (what NodeSDK does underneath):
// an AsyncLocalStorage context manager, a tracer provider and a meter
// provider, each exporting to memory so the test reads what would be sent.
const contextManager = new AsyncLocalStorageContextManager();
const spanExporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(spanExporter)],
});
const tracer = tracerProvider.getTracer('bulwark-test');

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(async () => {
  context.disable();
  await tracerProvider.shutdown();
});

function meterSetUp() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // The interval never fires during a test: forceFlush() exports on demand.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  return {
    meter: provider.getMeter('bulwark'),
    /** `{type, reason}` -> count, as last exported. */
    async counts(): Promise<Record<string, number>> {
      await provider.forceFlush();
      const result: Record<string, number> = {};
      const batches = exporter.getMetrics();
      const last = batches.at(-1);
      for (const scope of last?.scopeMetrics ?? []) {
        for (const metric of scope.metrics) {
          if (metric.descriptor.name !== SECURITY_EVENTS_COUNTER) continue;
          for (const point of metric.dataPoints) {
            const { type, reason } = point.attributes;
            result[`${String(type)} ${String(reason)}`] = point.value as number;
          }
        }
      }
      return result;
    },
    /** Every attribute key on the counter's points. */
    async attributeKeys(): Promise<string[]> {
      await provider.forceFlush();
      const keys = new Set<string>();
      for (const scope of exporter.getMetrics().at(-1)?.scopeMetrics ?? []) {
        for (const metric of scope.metrics) {
          for (const point of metric.dataPoints) {
            for (const key of Object.keys(point.attributes)) keys.add(key);
          }
        }
      }
      return [...keys].sort();
    },
    close: () => provider.shutdown(),
  };
}

/** A request span around every request, as the http/express instrumentations make. */
function tracing(req: Request, res: Response, next: NextFunction): void {
  tracer.startActiveSpan(`${req.method} ${req.path}`, (span) => {
    res.on('finish', () => {
      span.end();
    });
    next();
  });
}

function build(factory: ExpressFactory, traced: boolean) {
  const tokens = createTokenService({
    secret: 'test-FAKE-jwt-secret-for-the-otel-bridge-0123456789',
    issuer: 'https://issuer.example.test',
    audience: 'otel-test',
    store: memoryStore(),
  });
  const app = factory();
  if (traced) app.use(tracing);
  app.use(trustedHosts({ hosts: ['api.example.com', '127.0.0.1'], exclude: ['/open'] }));
  let ran = 0;
  app.get('/me', jwtAuth({ tokens }), (_req, res) => {
    ran++;
    res.json({ ok: true });
  });
  // A module reporting request data that carries secrets, which the bus redacts.
  app.get('/open', (req, res) => {
    securityEvents.emit('suspicious.activity', req, {
      reason: 'request_volume',
      key: FAKE.openai,
      note: `token ${FAKE.jwt} from ann.test@example.com`,
      count: 7,
      usage: { input_tokens: 3 },
    });
    res.json({ ok: true });
  });
  return { agent: request(app), ran: () => ran };
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  spanExporter.reset();
});

function bridge(options: OpenTelemetryEventsOptions): void {
  stops.push(openTelemetryEvents(options));
}

describe.each(EXPRESS_VERSIONS)('openTelemetryEvents on %s', (_label, factory) => {
  it('counts each event on bulwark.security_events by type and reason', async () => {
    const otel = meterSetUp();
    bridge({ meter: otel.meter });
    const { agent, ran } = build(factory, false);

    const host = await agent.get('/me').set('Host', 'evil.example');
    expect(host.status).toBe(400);
    expect(host.body.code).toBe('host.untrusted');
    for (let i = 0; i < 2; i++) {
      const missing = await agent.get('/me').set('Host', 'api.example.com');
      expect(missing.status).toBe(401);
      expect(missing.body.code).toBe('auth.missing_credentials');
    }
    const bad = await agent
      .get('/me')
      .set('Host', 'api.example.com')
      .set('Authorization', 'Bearer not-a-token');
    expect(bad.status).toBe(401);
    expect(bad.body.code).toBe('auth.invalid_token');
    expect(ran()).toBe(0);

    expect(await otel.counts()).toEqual({
      'host.rejected host_not_listed': 1,
      'auth.failed missing_credentials': 2,
      'auth.failed malformed': 1,
    });
    // Only bounded labels: never an IP, path or request id.
    expect(await otel.attributeKeys()).toEqual(['reason', 'type']);
    await otel.close();
  });

  it('adds redacted events to the active request span', async () => {
    bridge({ trace });
    const { agent, ran } = build(factory, true);

    const res = await agent.get('/me').set('Host', 'api.example.com');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('auth.missing_credentials');
    expect(ran()).toBe(0);
    expect((await agent.get('/open').set('Host', 'api.example.com')).status).toBe(200);

    const spans = spanExporter.getFinishedSpans();
    const me = spans.find((span) => span.name === 'GET /me');
    expect(me?.events.map((event) => event.name)).toEqual(['auth.failed']);
    expect(me?.events[0]?.attributes).toMatchObject({
      'bulwark.reason': 'missing_credentials',
      'bulwark.method': 'GET',
      'bulwark.path': '/me',
    });

    const open = spans.find((span) => span.name === 'GET /open');
    const event = open?.events[0];
    expect(event?.name).toBe('suspicious.activity');
    const attributes = event?.attributes ?? {};
    expect(attributes).toMatchObject({
      'bulwark.reason': 'request_volume',
      'bulwark.count': 7,
      'bulwark.usage': '{"input_tokens":3}',
    });
    // The bus redacted the event before the bridge saw it.
    const sent = JSON.stringify(attributes);
    expect(sent).not.toContain(FAKE.openai);
    expect(sent).not.toContain(FAKE.jwt);
    expect(sent).not.toContain('ann.test@example.com');
    expect(String(attributes['bulwark.key'])).toMatch(/^\[REDACTED/);
    expect(String(attributes['bulwark.note'])).toContain('[REDACTED:jwt]');
    expect(String(attributes['bulwark.note'])).toContain('[REDACTED:email]');
  });

  it('counts without a span, and adds nothing to spans when given only a meter', async () => {
    const otel = meterSetUp();
    bridge({ meter: otel.meter, trace });
    const untraced = build(factory, false);
    expect((await untraced.agent.get('/me').set('Host', 'api.example.com')).status).toBe(401);
    expect(await otel.counts()).toEqual({ 'auth.failed missing_credentials': 1 });
    for (const stop of stops.splice(0)) stop();

    bridge({ meter: otel.meter });
    const traced = build(factory, true);
    expect((await traced.agent.get('/me').set('Host', 'api.example.com')).status).toBe(401);
    expect(spanExporter.getFinishedSpans().flatMap((span) => span.events)).toEqual([]);
    await otel.close();
  });

  it('bridges only the chosen types, and nothing once stopped', async () => {
    const otel = meterSetUp();
    const stop = openTelemetryEvents({ meter: otel.meter, trace, types: ['host.rejected'] });
    const { agent } = build(factory, true);
    expect((await agent.get('/me').set('Host', 'api.example.com')).status).toBe(401);
    expect((await agent.get('/me').set('Host', 'evil.example')).status).toBe(400);
    expect(await otel.counts()).toEqual({ 'host.rejected host_not_listed': 1 });
    stop();
    expect((await agent.get('/me').set('Host', 'evil.example')).status).toBe(400);
    expect(await otel.counts()).toEqual({ 'host.rejected host_not_listed': 1 });
    const events = spanExporter.getFinishedSpans().flatMap((span) => span.events);
    expect(events.map((event) => event.name)).toEqual(['host.rejected']);
    await otel.close();
  });
});

describe('openTelemetryEvents labels', () => {
  it('counts a reason that is not a short identifier as other', async () => {
    const otel = meterSetUp();
    bridge({ meter: otel.meter });
    securityEvents.emit('auth.failed', undefined, { reason: 'user ann@example.com failed' });
    securityEvents.emit('auth.failed', undefined, { reason: 'expired' });
    expect(await otel.counts()).toEqual({ 'auth.failed other': 1, 'auth.failed expired': 1 });
    await otel.close();
  });

  it('works with the global API objects when no SDK is registered (no-ops)', () => {
    bridge({ meter: metrics.getMeter('bulwark'), trace });
    expect(() => {
      securityEvents.emit('auth.failed', undefined, { reason: 'expired' });
    }).not.toThrow();
  });
});

describe('openTelemetryEvents options', () => {
  const meter = metrics.getMeter('bulwark');
  it.each([
    ['neither meter nor trace', {}],
    ['a meter that is not one', { meter: {} }],
    ['a trace API without getActiveSpan', { trace: tracer }],
    ['an unknown event type', { meter, types: ['auth.fail'] }],
    ['an empty type list', { meter, types: [] }],
    ['an unknown key', { meter, tracer }],
    ['no options', undefined],
  ])('refuses %s', (_case, options) => {
    expect(() => openTelemetryEvents(options as never)).toThrow(BulwarkConfigError);
  });
});
