import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  securityEvents,
  trustedHosts,
  type SecurityEvent,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express.js';
import { rawRequest } from '../helpers/raw-http.js';

const HOSTS = [
  'api.example.com',
  'admin.example.com:8443',
  '*.tenants.example.com',
  '127.0.0.1:3000',
  '[::1]:3000',
  'dev.example.com:*',
];

function build(
  factory: ExpressFactory,
  options: Parameters<typeof trustedHosts>[0] = HOSTS,
  trustProxy = false,
) {
  const hits: string[] = [];
  const app = factory();
  if (trustProxy) app.set('trust proxy', 'loopback');
  app.use(trustedHosts(options));
  app.use((_req, res) => {
    hits.push('route');
    res.json({ ok: true });
  });
  return { app, hits };
}

function get(host: string | undefined, extra: string[] = [], target = '/'): string[] {
  // HTTP/1.1 without Host is refused by Node itself; HTTP/1.0 reaches the middleware.
  if (host === undefined) return [`GET ${target} HTTP/1.0`, ...extra];
  return [`GET ${target} HTTP/1.1`, `Host: ${host}`, ...extra];
}

describe.each(EXPRESS_VERSIONS)('trustedHosts on %s', (_name, factory) => {
  it.each([
    ['an exact host', 'api.example.com'],
    ['uppercase', 'API.Example.COM'],
    ['a trailing dot', 'api.example.com.'],
    ['a listed port', 'admin.example.com:8443'],
    ['one wildcard label', 'acme.tenants.example.com'],
    ['several wildcard labels', 'eu.acme.tenants.example.com'],
    ['a listed IPv4 literal with its port', '127.0.0.1:3000'],
    ['a listed IPv6 literal with its port', '[::1]:3000'],
    ['any port where :* is listed', 'dev.example.com:5173'],
    ['no port where :* is listed', 'dev.example.com'],
  ])('allows %s', async (_case, host) => {
    const { app, hits } = build(factory);
    const res = await rawRequest(app, get(host));
    expect(res.status).toBe(200);
    expect(hits).toEqual(['route']);
  });

  it.each([
    ['no Host at all', undefined, [], '/', 'missing_host'],
    ['an empty Host', '', [], '/', 'missing_host'],
    ['userinfo', 'user@api.example.com', [], '/', 'malformed_host'],
    ['userinfo with a password', 'user:pass@api.example.com', [], '/', 'malformed_host'],
    ['a port not listed', 'api.example.com:8080', [], '/', 'host_not_listed'],
    ['no port where one is required', 'admin.example.com', [], '/', 'host_not_listed'],
    ['an unlisted IPv4 literal', '10.0.0.1', [], '/', 'host_not_listed'],
    ['a listed IP on another port', '127.0.0.1:3001', [], '/', 'host_not_listed'],
    ['an unlisted IPv6 literal', '[::2]:3000', [], '/', 'host_not_listed'],
    ['a malformed IPv6 literal', '[zz::1]', [], '/', 'malformed_host'],
    ['a look-alike suffix', 'api.example.com.evil.com', [], '/', 'host_not_listed'],
    ['the wildcard apex', 'tenants.example.com', [], '/', 'host_not_listed'],
    ['an evil prefix on a wildcard', 'evil-tenants.example.com', [], '/', 'host_not_listed'],
    ['an empty label', 'a..tenants.example.com', [], '/', 'malformed_host'],
    ['a path in Host', 'api.example.com/evil', [], '/', 'malformed_host'],
    ['a backslash', 'api.example.com\\evil.com', [], '/', 'malformed_host'],
    ['port zero', 'api.example.com:0', [], '/', 'malformed_host'],
    ['an absolute-form request line', 'api.example.com', [], 'http://evil.com/', 'absolute_form'],
    [
      'an absolute-form line naming a listed host',
      'api.example.com',
      [],
      'http://api.example.com/',
      'absolute_form',
    ],
    [
      'X-Forwarded-Host while proxies are not trusted',
      'evil.com',
      ['X-Forwarded-Host: api.example.com'],
      '/',
      'host_not_listed',
    ],
  ])('rejects %s with 400 host.untrusted', async (_case, host, extra, target, reason) => {
    const { app, hits } = build(factory);
    const seen: SecurityEvent[] = [];
    const off = securityEvents.on('host.rejected', (e) => seen.push(e));
    const res = await rawRequest(app, get(host, extra, target));
    off();
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.body).code).toBe('host.untrusted');
    expect(res.body).not.toContain('evil');
    // Outside production every refusal says what is wrong, never with the Host value.
    expect(JSON.parse(res.body).detail).toEqual(expect.any(String));
    expect(hits).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.reason).toBe(reason);
  });

  it.each([
    ['development', 'host_not_listed', 'unlisted-7f3a.example.com'],
    ['development', 'malformed_host', 'user@unlisted-7f3a.example.com'],
    ['production', 'host_not_listed', 'unlisted-7f3a.example.com'],
    ['production', 'malformed_host', 'user@unlisted-7f3a.example.com'],
  ])('in %s, explains %s without echoing the Host', async (env, reason, host) => {
    const { app, hits } = build(factory, { hosts: HOSTS, env });
    const seen: SecurityEvent[] = [];
    const off = securityEvents.on('host.rejected', (e) => seen.push(e));
    const res = await rawRequest(app, get(host));
    off();
    expect(res.status).toBe(400);
    const body = JSON.parse(res.body) as { code: string; detail?: string };
    expect(body.code).toBe('host.untrusted');
    expect(res.body).not.toContain('unlisted-7f3a');
    expect(hits).toEqual([]);
    expect(seen.map((e) => e.reason)).toEqual([reason]);
    if (env === 'production') {
      expect(body.detail).toBeUndefined();
    } else if (reason === 'host_not_listed') {
      expect(body.detail).toBe(
        'This host is not one the app serves: add it to TRUSTED_HOSTS, or to trustedHosts({ hosts }).',
      );
    } else {
      expect(body.detail).toBe(
        'The Host header is not a host name or IP literal with an optional port.',
      );
    }
  });

  it('gives the same answer to a host it has seen before, past its memory of 256 hosts', async () => {
    const { app, hits } = build(factory);
    const seen: SecurityEvent[] = [];
    const off = securityEvents.on('host.rejected', (e) => seen.push(e));
    const statuses: number[] = [];
    for (let round = 0; round < 2; round++) {
      statuses.push((await rawRequest(app, get('evil.com'))).status);
      statuses.push((await rawRequest(app, get('api.example.com'))).status);
      statuses.push((await rawRequest(app, get('user@api.example.com'))).status);
    }
    // Enough distinct hosts to clear the remembered verdicts at least once.
    for (let i = 0; i < 300; i++) {
      const res = await rawRequest(app, get(`h${String(i)}.example.com`));
      expect(res.status).toBe(400);
    }
    statuses.push((await rawRequest(app, get('evil.com'))).status);
    statuses.push((await rawRequest(app, get('api.example.com'))).status);
    off();
    expect(statuses).toEqual([400, 200, 400, 400, 200, 400, 400, 200]);
    expect(hits).toEqual(['route', 'route', 'route']);
    expect(seen.slice(0, 4).map((e) => e.reason)).toEqual([
      'host_not_listed',
      'malformed_host',
      'host_not_listed',
      'malformed_host',
    ]);
    expect(seen.at(-1)!.reason).toBe('host_not_listed');
  });

  it.each([
    ['a second Host line naming another host', ['Host: api.example.com', 'Host: evil.com'], false],
    [
      'a second Host line naming the same host',
      ['Host: api.example.com', 'Host: api.example.com'],
      false,
    ],
    ['a listed Host after an unlisted one', ['Host: evil.com', 'Host: api.example.com'], false],
    ['two Host lines spelt in different case', ['Host: api.example.com', 'host: evil.com'], false],
    ['two Host lines behind a trusted proxy', ['Host: api.example.com', 'Host: evil.com'], true],
  ])('rejects %s with 400 duplicate_host', async (_case, lines, trustProxy) => {
    const { app, hits } = build(factory, HOSTS, trustProxy);
    const seen: SecurityEvent[] = [];
    const off = securityEvents.on('host.rejected', (e) => seen.push(e));
    const res = await rawRequest(app, ['GET / HTTP/1.1', ...lines]);
    off();
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).code).toBe('host.untrusted');
    expect(hits).toEqual([]);
    expect(seen.map((e) => e.reason)).toEqual(['duplicate_host']);
  });

  it.each([
    ['a Host list', ['Host: api.example.com, evil.com'], false],
    [
      'a forwarded list',
      ['Host: internal:8080', 'X-Forwarded-Host: evil.com, api.example.com'],
      true,
    ],
    [
      'a forwarded list of listed hosts',
      ['Host: internal:8080', 'X-Forwarded-Host: api.example.com, admin.example.com:8443'],
      true,
    ],
    [
      'two X-Forwarded-Host lines',
      ['Host: internal:8080', 'X-Forwarded-Host: api.example.com', 'X-Forwarded-Host: evil.com'],
      true,
    ],
  ])('rejects %s with 400 ambiguous_host', async (_case, lines, trustProxy) => {
    const { app, hits } = build(factory, HOSTS, trustProxy);
    const seen: SecurityEvent[] = [];
    const off = securityEvents.on('host.rejected', (e) => seen.push(e));
    const res = await rawRequest(app, ['GET / HTTP/1.1', ...lines]);
    off();
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).code).toBe('host.untrusted');
    expect(hits).toEqual([]);
    expect(seen.map((e) => e.reason)).toEqual(['ambiguous_host']);
  });

  it('reads X-Forwarded-Host only when trust proxy trusts the peer', async () => {
    const trusted = build(factory, HOSTS, true);
    const ok = await rawRequest(
      trusted.app,
      get('internal:8080', ['X-Forwarded-Host: api.example.com']),
    );
    expect(ok.status).toBe(200);
    const bad = await rawRequest(
      trusted.app,
      get('api.example.com', ['X-Forwarded-Host: evil.com']),
    );
    expect(bad.status).toBe(400);
  });

  it('skips excluded paths', async () => {
    const { app, hits } = build(factory, { hosts: ['api.example.com'], exclude: ['/health'] });
    const probe = await rawRequest(app, get('10.1.2.3:8080', [], '/health'));
    expect(probe.status).toBe(200);
    const other = await rawRequest(app, get('10.1.2.3:8080', [], '/healthz'));
    expect(other.status).toBe(400);
    expect(hits).toEqual(['route']);
  });
});

describe('trustedHosts options', () => {
  it.each([
    ['an empty list', []],
    ['a non-array', 'api.example.com'],
    ['null', null],
    ['missing hosts', {}],
    ['a non-string entry', [42]],
    ['userinfo', ['user@api.example.com']],
    ['a URL', ['https://api.example.com']],
    ['a path', ['api.example.com/x']],
    ['a bad port', ['api.example.com:99999']],
    ['a wildcard over a TLD', ['*.com']],
    ['a wildcard over an IP', ['*.0.0.1']],
    ['a port and :*', ['api.example.com:80:*']],
    ['an exclude without a slash', { hosts: ['a.example.com'], exclude: ['health'] }],
    ['an unknown key', { hosts: ['a.example.com'], host: 'x' }],
    ['a non-string env', { hosts: ['a.example.com'], env: true }],
  ])('refuses %s', (_case, options) => {
    expect(() => trustedHosts(options as never)).toThrow(BulwarkConfigError);
  });
});
