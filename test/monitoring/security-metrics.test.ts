import { Counter, Registry, type OpenMetricsContentType } from 'prom-client';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  errorHandler,
  securityEvents,
  securityMetrics,
  SECURITY_EVENT_TYPES,
} from '../../src/index.js';
import { MAX_SERIES } from '../../src/monitoring/event-labels.js';
import { EXPRESS_VERSIONS } from '../helpers/express.js';

function value(text: string, type: string, reason: string): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`bulwark_security_events_total{type="${type}",reason="${reason}"} `));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe.each(EXPRESS_VERSIONS)('securityMetrics on %s', (_name, factory) => {
  function app(options?: Parameters<typeof securityMetrics>[0]) {
    const a = factory();
    a.get('/metrics', securityMetrics(options));
    a.get('/probe', (req, res) => {
      securityEvents.emit('path.traversal_blocked', req, { reason: 'dot_dot' });
      res.end();
    });
    a.use(errorHandler());
    return a;
  }

  it('counts events by type and reason in the Prometheus text format', async () => {
    const a = app();
    const before = (await request(a).get('/metrics')).text;
    securityEvents.emit('auth.failed', undefined, { reason: 'expired' });
    securityEvents.emit('auth.failed', undefined, { reason: 'expired' });
    securityEvents.emit('auth.failed', undefined, { reason: 'bad_signature' });
    const res = await request(a).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toMatch(
      /^# HELP bulwark_security_events_total .+\n# TYPE bulwark_security_events_total counter\n/,
    );
    expect(res.text.endsWith('\n')).toBe(true);
    expect(
      value(res.text, 'auth.failed', 'expired') - value(before, 'auth.failed', 'expired'),
    ).toBe(2);
    expect(
      value(res.text, 'auth.failed', 'bad_signature') -
        value(before, 'auth.failed', 'bad_signature'),
    ).toBe(1);
    for (const line of res.text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
      expect(line).toMatch(
        /^bulwark_security_events_total\{type="[a-z_.]+",reason="[a-z0-9_.]+"\} \d+$/,
      );
    }
  });

  it('never labels by address, path or request id', async () => {
    const a = app();
    await request(a).get('/probe').set('X-Forwarded-For', '203.0.113.77');
    const res = await request(a).get('/metrics');
    expect(value(res.text, 'path.traversal_blocked', 'dot_dot')).toBeGreaterThan(0);
    expect(res.text).not.toContain('/probe');
    expect(res.text).not.toContain('127.0.0.1');
    expect(res.text).not.toMatch(/\b(ip|path|requestId)=/);
  });

  it.each([
    ['a quote', 'x"} 1\nevil_metric 1'],
    ['a user name', 'User Alice'],
    ['an IP address', '203.0.113.5:forbidden'],
    ['a path', '/etc/passwd'],
    ['a very long reason', 'a'.repeat(65)],
  ])('counts a reason holding %s under other', async (_case, reason) => {
    const a = app();
    const before = value((await request(a).get('/metrics')).text, 'validation.rejected', 'other');
    securityEvents.emit('validation.rejected', undefined, { reason });
    const res = await request(a).get('/metrics');
    expect(value(res.text, 'validation.rejected', 'other') - before).toBe(1);
    expect(res.text).not.toContain('evil_metric');
    expect(res.text).not.toContain(reason);
  });

  it('counts each event once however many handlers exist', async () => {
    const a = app();
    app();
    app();
    const before = value((await request(a).get('/metrics')).text, 'host.rejected', 'untrusted');
    securityEvents.emit('host.rejected', undefined, { reason: 'untrusted' });
    const after = value((await request(a).get('/metrics')).text, 'host.rejected', 'untrusted');
    expect(after - before).toBe(1);
  });

  it('serves appended exposition text after its own', async () => {
    const a = app({ append: () => Promise.resolve('# TYPE app_up gauge\napp_up 1') });
    const res = await request(a).get('/metrics');
    expect(res.text.endsWith('\napp_up 1\n')).toBe(true);
    expect(res.text.indexOf('bulwark_security_events_total')).toBeLessThan(
      res.text.indexOf('app_up'),
    );
  });

  it("serves an app registry with its own counter beside bulwark's", async () => {
    const registry = new Registry();
    const requests = new Counter({
      name: 'app_requests_total',
      help: 'Requests served by the app.',
      registers: [registry],
    });
    requests.inc(3);
    const a = app({ registry });
    securityEvents.emit('auth.failed', undefined, { reason: 'expired' });
    const res = await request(a).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(registry.contentType);
    expect(res.text).toContain('\napp_requests_total 3\n');
    expect(value(res.text, 'auth.failed', 'expired')).toBeGreaterThan(0);
    expect(res.text).toContain(
      '# HELP bulwark_security_events_total Security events raised by bulwark, by event type and reason.\n# TYPE bulwark_security_events_total counter\n',
    );
    const scraped = await registry.metrics();
    expect(scraped).toContain('\napp_requests_total 3\n');
    expect(value(scraped, 'auth.failed', 'expired')).toBe(
      value(res.text, 'auth.failed', 'expired'),
    );
  });

  it('serves with the content type of the registry', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const res = await request(app({ registry })).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(Registry.OPENMETRICS_CONTENT_TYPE);
    expect(res.text).toContain('# TYPE bulwark_security_events counter');
  });

  it('reuses its counter when two handlers share a registry', async () => {
    const registry = new Registry();
    const first = app({ registry });
    const second = app({ registry });
    const before = value(await registry.metrics(), 'host.rejected', 'untrusted');
    securityEvents.emit('host.rejected', undefined, { reason: 'untrusted' });
    for (const a of [first, second]) {
      const res = await request(a).get('/metrics');
      expect(value(res.text, 'host.rejected', 'untrusted') - before).toBe(1);
      expect(res.text.match(/^# TYPE bulwark_security_events_total /gm)).toHaveLength(1);
    }
  });

  it('passes a failing append to the error handler', async () => {
    const a = app({ append: () => Promise.reject(new Error('registry broke')) });
    const res = await request(a).get('/metrics');
    expect(res.status).toBe(500);
    expect(res.text).not.toContain('bulwark_security_events_total');
  });
});

describe('securityMetrics cardinality', () => {
  it('caps distinct series; later reasons count under other', async () => {
    const a = EXPRESS_VERSIONS[0][1]();
    a.get('/metrics', securityMetrics());
    for (let i = 0; i < MAX_SERIES + 200; i++) {
      securityEvents.emit('request.rejected', undefined, { reason: `reason_${String(i)}` });
    }
    const res = await request(a).get('/metrics');
    const series = res.text
      .split('\n')
      .filter((l) => l.startsWith('bulwark_security_events_total{'));
    expect(series.length).toBeLessThanOrEqual(MAX_SERIES + SECURITY_EVENT_TYPES.length);
    expect(value(res.text, 'request.rejected', 'other')).toBeGreaterThanOrEqual(200);
  });
});

describe('securityMetrics options', () => {
  it.each([
    [{ append: 'text' }],
    [{ append: 5 }],
    [{ appendix: () => '' }],
    [null],
    ['x'],
    [{ registry: 'default' }],
    [{ registry: {} }],
    [{ registry: { metrics: () => '' } }],
    [{ registry: new Counter({ name: 'x_total', help: 'x', registers: [] }) }],
  ])('refuses %j', (options) => {
    expect(() => securityMetrics(options as never)).toThrow(BulwarkConfigError);
  });
});

describe('securityMetrics on a registry that already has the name', () => {
  it('refuses a bulwark_security_events_total it did not register, naming the problem', () => {
    const registry = new Registry();
    new Counter({ name: 'bulwark_security_events_total', help: 'mine', registers: [registry] });
    let thrown: unknown;
    try {
      securityMetrics({ registry });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BulwarkConfigError);
    expect((thrown as BulwarkConfigError).message).toContain(
      'already holds a metric named `bulwark_security_events_total`',
    );
  });

  it('registers once in a registry it already registered in', () => {
    const registry = new Registry();
    securityMetrics({ registry });
    expect(() => securityMetrics({ registry })).not.toThrow();
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual([
      'bulwark_security_events_total',
    ]);
  });
});
