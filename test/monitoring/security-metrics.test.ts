import request from 'supertest';
import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  errorHandler,
  securityEvents,
  securityMetrics,
  SECURITY_EVENT_TYPES,
} from '../../src/index.js';
import { MAX_SERIES } from '../../src/monitoring/security-metrics.js';
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
  it.each([[{ append: 'text' }], [{ append: 5 }], [{ appendix: () => '' }], [null], ['x']])(
    'refuses %j',
    (options) => {
      expect(() => securityMetrics(options as never)).toThrow(BulwarkConfigError);
    },
  );
});
