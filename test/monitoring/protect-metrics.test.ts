import request from 'supertest';
import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  protectMetrics,
  securityEvents,
  securityMetrics,
  type ProtectMetricsOptions,
  type SecurityEvent,
} from '../../src/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express.js';

const USER = 'prometheus';
const PASS = 'FAKE-test-metrics-password';
const CHALLENGE = 'Basic realm="metrics", charset="UTF-8"';

function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;
}

describe.each(EXPRESS_VERSIONS)('protectMetrics on %s', (_name, factory) => {
  function app(options: ProtectMetricsOptions, trustProxy: string | false = false) {
    const a = factory();
    a.set('trust proxy', trustProxy);
    const seen = { count: 0 };
    a.get(
      '/metrics',
      protectMetrics(options),
      (_req, _res, next) => {
        seen.count++;
        next();
      },
      securityMetrics(),
    );
    return { app: a, seen };
  }

  describe('basic auth', () => {
    const guarded = app({ basicAuth: { username: USER, password: PASS } });

    it('serves metrics for the right credentials', async () => {
      const res = await request(guarded.app)
        .get('/metrics')
        .set('Authorization', basic(USER, PASS));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(res.text).toContain('# TYPE bulwark_security_events_total counter');
    });

    it('accepts the scheme in any case and a password containing colons', async () => {
      const colon = app({ basicAuth: { username: USER, password: `${PASS}:with:colons` } });
      const header = basic(USER, `${PASS}:with:colons`).replace('Basic', 'bAsIc');
      const res = await request(colon.app).get('/metrics').set('Authorization', header);
      expect(res.status).toBe(200);
    });

    it('accepts UTF-8 credentials', async () => {
      const utf8 = app({ basicAuth: { username: 'mètrics', password: `${PASS}-ключ` } });
      const res = await request(utf8.app)
        .get('/metrics')
        .set('Authorization', basic('mètrics', `${PASS}-ключ`));
      expect(res.status).toBe(200);
    });

    it.each([
      ['missing', undefined, 'metrics_missing_credentials'],
      ['a wrong password', basic(USER, 'FAKE-wrong-password-123'), 'metrics_invalid_credentials'],
      ['a wrong username', basic('grafana', PASS), 'metrics_invalid_credentials'],
      ['both wrong', basic('grafana', 'FAKE-wrong-password-123'), 'metrics_invalid_credentials'],
      ['the password as username', basic(PASS, USER), 'metrics_invalid_credentials'],
      ['a password prefix', basic(USER, PASS.slice(0, -1)), 'metrics_invalid_credentials'],
      ['a password with a suffix', basic(USER, `${PASS}x`), 'metrics_invalid_credentials'],
      ['an empty password', basic(USER, ''), 'metrics_invalid_credentials'],
      ['empty credentials', basic('', ''), 'metrics_invalid_credentials'],
      ['an empty header', '', 'metrics_malformed_credentials'],
      ['the scheme alone', 'Basic', 'metrics_malformed_credentials'],
      ['the scheme and a space', 'Basic ', 'metrics_malformed_credentials'],
      ['a bearer token', 'Bearer FAKE.test.token', 'metrics_malformed_credentials'],
      ['a Digest header', 'Digest username="prometheus"', 'metrics_malformed_credentials'],
      [
        'no colon',
        `Basic ${Buffer.from(USER).toString('base64')}`,
        'metrics_malformed_credentials',
      ],
      ['not base64', 'Basic !!!not-base64!!!', 'metrics_malformed_credentials'],
      [
        'base64 without padding',
        basic(USER, PASS).replace(/=+$/, ''),
        'metrics_malformed_credentials',
      ],
      ['base64url characters', 'Basic cHJv_-==', 'metrics_malformed_credentials'],
      ['two tokens', `${basic(USER, PASS)} extra`, 'metrics_malformed_credentials'],
      [
        'credentials without the scheme',
        Buffer.from(`${USER}:${PASS}`).toString('base64'),
        'metrics_malformed_credentials',
      ],
      [
        'invalid UTF-8',
        `Basic ${Buffer.concat([Buffer.from(`${USER}:`), Buffer.from([0xff, 0xfe])]).toString('base64')}`,
        'metrics_malformed_credentials',
      ],
      [
        'an oversized header',
        basic(USER, PASS + 'x'.repeat(2000)),
        'metrics_malformed_credentials',
      ],
    ])('answers 401 for %s credentials', async (_case, header, reason) => {
      const events: SecurityEvent[] = [];
      const off = securityEvents.on('auth.failed', (e) => events.push(e));
      const before = guarded.seen.count;
      const req = request(guarded.app).get('/metrics');
      const res = await (header === undefined ? req : req.set('Authorization', header));
      off();
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(res.headers['www-authenticate']).toBe(CHALLENGE);
      expect(res.body.code).toBe('auth.invalid_credentials');
      expect(res.text).not.toContain(PASS);
      expect(guarded.seen.count).toBe(before);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ reason, path: '/metrics' });
    });

    it('never reads credentials from the query string', async () => {
      const res = await request(guarded.app).get(`/metrics?username=${USER}&password=${PASS}`);
      expect(res.status).toBe(401);
    });
  });

  describe('address allowlist', () => {
    // supertest connects over loopback, which Node reports as ::ffff:127.0.0.1 or 127.0.0.1.
    it.each([
      ['the IPv4 loopback address', ['127.0.0.1'], 200],
      ['the IPv4 loopback range', ['127.0.0.0/8'], 200],
      ['an IPv4-mapped IPv6 rule', ['::ffff:127.0.0.1'], 200],
      ['an IPv4-mapped IPv6 range', ['::ffff:127.0.0.0/104'], 200],
      ['one of several ranges', ['10.0.0.0/8', '127.0.0.1/32'], 200],
      ['a /32 of a neighbour', ['127.0.0.2/32'], 403],
      ['a private range', ['10.0.0.0/8', '192.168.0.0/16'], 403],
      ['the IPv6 loopback only', ['::1'], 403],
    ])('direct connection with %s -> %i', async (_case, allowIps, status) => {
      const { app: a, seen } = app({ allowIps });
      const res = await request(a).get('/metrics');
      expect(res.status).toBe(status);
      expect(seen.count).toBe(status === 200 ? 1 : 0);
      if (status === 403) {
        expect(res.body.code).toBe('auth.forbidden');
        expect(res.headers['www-authenticate']).toBeUndefined();
      }
    });

    it.each([
      ['10.0.0.0/8', '10.1.2.3', 200],
      ['10.0.0.0/8', '::ffff:10.1.2.3', 200],
      ['10.0.0.0/8', '11.1.2.3', 403],
      ['10.1.2.3', '10.1.2.3', 200],
      ['10.1.2.3', '10.1.2.4', 403],
      ['192.168.1.0/24', '192.168.1.255', 200],
      ['192.168.1.0/24', '192.168.2.0', 403],
      ['::ffff:10.0.0.0/104', '10.9.9.9', 200],
      ['2001:db8::/32', '2001:db8:ffff::1', 200],
      ['2001:db8::/32', '2001:db9::1', 403],
      ['2001:DB8::/32', '2001:db8::1', 200],
      ['fd00::/8', 'fd12:3456::1', 200],
      ['10.0.0.0/8', 'not-an-ip', 403],
      // A forged leftmost hop does not help: the client is the first untrusted address from the right.
      ['10.0.0.0/8', '10.1.2.3, 192.0.2.1', 403],
      ['10.0.0.0/8', '10.1.2.3, 127.0.0.1', 200],
    ])('behind a trusted proxy, rule %s and client %s -> %i', async (rule, client, status) => {
      const { app: a, seen } = app({ allowIps: [rule] }, 'loopback');
      const res = await request(a).get('/metrics').set('X-Forwarded-For', client);
      expect(res.status).toBe(status);
      expect(seen.count).toBe(status === 200 ? 1 : 0);
      if (status === 403) expect(res.body.code).toBe('auth.forbidden');
    });

    it('ignores X-Forwarded-For when trust proxy is off', async () => {
      const { app: a, seen } = app({ allowIps: ['10.0.0.0/8'] }, false);
      const events: SecurityEvent[] = [];
      const off = securityEvents.on('authz.denied', (e) => events.push(e));
      const res = await request(a).get('/metrics').set('X-Forwarded-For', '10.1.2.3');
      off();
      expect(res.status).toBe(403);
      expect(seen.count).toBe(0);
      expect(events[0]).toMatchObject({ reason: 'metrics_ip_not_allowed' });
    });
  });

  describe('both', () => {
    const options = { basicAuth: { username: USER, password: PASS }, allowIps: ['10.0.0.0/8'] };

    it('refuses a disallowed address even with the right credentials', async () => {
      const { app: a, seen } = app(options, 'loopback');
      const res = await request(a)
        .get('/metrics')
        .set('X-Forwarded-For', '192.0.2.1')
        .set('Authorization', basic(USER, PASS));
      expect(res.status).toBe(403);
      expect(seen.count).toBe(0);
    });

    it('asks an allowed address for credentials', async () => {
      const { app: a, seen } = app(options, 'loopback');
      const res = await request(a).get('/metrics').set('X-Forwarded-For', '10.0.0.1');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(CHALLENGE);
      expect(seen.count).toBe(0);
    });

    it('serves an allowed address with the right credentials', async () => {
      const { app: a } = app(options, 'loopback');
      const res = await request(a)
        .get('/metrics')
        .set('X-Forwarded-For', '10.0.0.1')
        .set('Authorization', basic(USER, PASS));
      expect(res.status).toBe(200);
    });
  });
});

describe('protectMetrics options', () => {
  const auth = { username: USER, password: PASS };

  it.each([
    ['no options', undefined],
    ['an open config', {}],
    ['an empty allowlist', { allowIps: [] }],
    ['a prefix over 32', { allowIps: ['10.0.0.0/33'] }],
    ['a prefix over 128', { allowIps: ['::/129'] }],
    ['a negative prefix', { allowIps: ['10.0.0.0/-1'] }],
    ['an empty prefix', { allowIps: ['10.0.0.0/'] }],
    ['a zero-padded prefix', { allowIps: ['10.0.0.0/08'] }],
    ['a fractional prefix', { allowIps: ['10.0.0.0/8.5'] }],
    ['two prefixes', { allowIps: ['10.0.0.0/8/8'] }],
    ['an octet over 255', { allowIps: ['10.0.0.256'] }],
    ['three octets', { allowIps: ['10.0.0/24'] }],
    ['a zero-padded octet', { allowIps: ['010.0.0.1'] }],
    ['a host name', { allowIps: ['localhost'] }],
    ['an empty entry', { allowIps: [''] }],
    ['a zone id', { allowIps: ['fe80::1%eth0'] }],
    ['a mask instead of a prefix', { allowIps: ['10.0.0.0/255.0.0.0'] }],
    ['everything in IPv4', { allowIps: ['0.0.0.0/0'] }],
    ['everything in IPv6', { allowIps: ['::/0'] }],
    ['a number', { allowIps: [10] }],
    ['null', { allowIps: [null] }],
    ['a string instead of a list', { allowIps: '10.0.0.0/8' }],
    ['basicAuth null', { basicAuth: null }],
    ['basicAuth a string', { basicAuth: `${USER}:${PASS}` }],
    ['no password', { basicAuth: { username: USER } }],
    ['a short password', { basicAuth: { username: USER, password: 'FAKE-short' } }],
    ['an empty username', { basicAuth: { username: '', password: PASS } }],
    ['a colon in the username', { basicAuth: { username: 'a:b', password: PASS } }],
    ['a numeric password', { basicAuth: { username: USER, password: 12345678901234 } }],
    ['an unknown basicAuth key', { basicAuth: { ...auth, realm: 'x' } }],
    ['a quote in the realm', { basicAuth: auth, realm: 'a"b' }],
    ['an empty realm', { basicAuth: auth, realm: '' }],
    ['an unknown option', { basicAuth: auth, allowIp: ['10.0.0.0/8'] }],
  ])('refuses %s', (_case, options) => {
    expect(() => protectMetrics(options as never)).toThrow(BulwarkConfigError);
  });

  it('names the bad entry without echoing the password', () => {
    try {
      protectMetrics({ basicAuth: { username: USER, password: 'FAKE-short' }, allowIps: ['x'] });
      expect.unreachable();
    } catch (error) {
      const { problems, message } = error as BulwarkConfigError;
      expect(problems).toHaveLength(2);
      expect(message).toContain('allowIps[0]');
      expect(message).not.toContain('FAKE-short');
    }
  });
});
