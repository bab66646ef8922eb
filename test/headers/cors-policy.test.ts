import request from 'supertest';
import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  corsPolicy,
  securityEvents,
  type SecurityEvent,
} from '../../src/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express.js';

const ORIGINS = [
  'https://App.Example.com/',
  'https://admin.example.com:8443',
  'https://*.tenants.example.com',
  /^https:\/\/(?:blue|green)\.deploy\.example\.com$/,
];

describe.each(EXPRESS_VERSIONS)('corsPolicy on %s', (_name, factory) => {
  function app(options: Parameters<typeof corsPolicy>[0] = { origins: ORIGINS }) {
    const hits: string[] = [];
    const a = factory();
    a.use(corsPolicy(options));
    a.get('/data', (_req, res) => {
      hits.push('route');
      res.json({ ok: true });
    });
    a.put('/data', (_req, res) => {
      hits.push('route');
      res.json({ ok: true });
    });
    a.options('/data', (_req, res) => {
      hits.push('route');
      res.end();
    });
    return { app: a, hits };
  }

  function events() {
    const seen: SecurityEvent[] = [];
    const off = securityEvents.on('cors.rejected', (e) => seen.push(e));
    return { seen, off };
  }

  it.each([
    ['an exact origin (config had uppercase and a trailing slash)', 'https://app.example.com'],
    ['an exact origin with its port', 'https://admin.example.com:8443'],
    ['one wildcard label', 'https://acme.tenants.example.com'],
    ['several wildcard labels', 'https://eu.acme.tenants.example.com'],
    ['an anchored RegExp', 'https://green.deploy.example.com'],
  ])('allows %s', async (_case, origin) => {
    const { app: a, hits } = app();
    const res = await request(a).get('/data').set('Origin', origin);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(res.headers.vary).toBe('Origin');
    expect(res.headers['access-control-expose-headers']).toBe(
      'X-Request-Id,Retry-After,RateLimit,RateLimit-Policy',
    );
    expect(hits).toEqual(['route']);
  });

  it.each([
    ['null', 'null', 'null_origin'],
    ['a look-alike suffix', 'https://app.example.com.evil.com', 'origin_not_allowed'],
    ['an evil prefix on a wildcard', 'https://evil-tenants.example.com', 'origin_not_allowed'],
    ['an evil prefix on an exact origin', 'https://evil-app.example.com', 'origin_not_allowed'],
    ['http when only https is allowed', 'http://app.example.com', 'origin_not_allowed'],
    ['a different port', 'https://app.example.com:8443', 'origin_not_allowed'],
    ['the default port spelled out', 'https://app.example.com:443', 'origin_not_allowed'],
    ['an uppercase host', 'https://APP.example.com', 'origin_not_allowed'],
    ['a trailing slash', 'https://app.example.com/', 'origin_not_allowed'],
    ['the wildcard apex', 'https://tenants.example.com', 'origin_not_allowed'],
    ['an empty wildcard label', 'https://.tenants.example.com', 'origin_not_allowed'],
    ['a wildcard over http', 'http://acme.tenants.example.com', 'origin_not_allowed'],
    ['a RegExp look-alike', 'https://green.deploy.example.com.evil.com', 'origin_not_allowed'],
    ['an unrelated site', 'https://evil.example', 'origin_not_allowed'],
    ['an oversized origin', `https://${'a'.repeat(600)}.tenants.example.com`, 'origin_not_allowed'],
  ])('gives %s no CORS headers; the route still runs', async (_case, origin, reason) => {
    const { app: a, hits } = app();
    const { seen, off } = events();
    const res = await request(a).get('/data').set('Origin', origin);
    off();
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers.vary).toBe('Origin');
    expect(hits).toEqual(['route']);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ reason, preflight: false });
  });

  it.each([
    ['null', 'null'],
    ['a look-alike', 'https://app.example.com.evil.com'],
    ['http instead of https', 'http://app.example.com'],
  ])('answers a preflight from %s with 403 cors.rejected', async (_case, origin) => {
    const { app: a, hits } = app();
    const { seen, off } = events();
    const res = await request(a)
      .options('/data')
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'PUT');
    off();
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('cors.rejected');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers.vary).toBe('Origin');
    expect(hits).toEqual([]);
    expect(seen[0]).toMatchObject({ type: 'cors.rejected', preflight: true });
  });

  it('answers an allowed preflight with 204 and the configured lists', async () => {
    const { app: a, hits } = app({ origins: ORIGINS, credentials: true, maxAge: 120 });
    const res = await request(a)
      .options('/data')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'PUT')
      .set('Access-Control-Request-Headers', 'content-type');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-allow-methods']).toBe('GET,HEAD,POST,PUT,PATCH,DELETE');
    expect(res.headers['access-control-allow-headers']).toBe(
      'Authorization,Content-Type,X-API-Key,X-Request-Id',
    );
    expect(res.headers['access-control-max-age']).toBe('120');
    expect(res.headers.vary).toMatch(/Origin/);
    expect(hits).toEqual([]);
  });

  it('sends Vary: Origin and no CORS headers to requests without Origin', async () => {
    const { app: a } = app();
    const res = await request(a).get('/data');
    expect(res.status).toBe(200);
    expect(res.headers.vary).toBe('Origin');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows any origin with * outside production, still with Vary and still denying null', async () => {
    const { app: a } = app({ origins: ['*'], env: 'development' });
    const res = await request(a).get('/data').set('Origin', 'https://anyone.example');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers.vary).toBe('Origin');
    const nul = await request(a)
      .options('/data')
      .set('Origin', 'null')
      .set('Access-Control-Request-Method', 'GET');
    expect(nul.status).toBe(403);
  });

  it('uses custom methods and headers', async () => {
    const { app: a } = app({
      origins: ['https://app.example.com'],
      methods: ['get', 'POST'],
      allowedHeaders: ['X-Custom'],
      exposedHeaders: ['X-Out'],
    });
    const res = await request(a)
      .options('/data')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST');
    expect(res.headers['access-control-allow-methods']).toBe('GET,POST');
    expect(res.headers['access-control-allow-headers']).toBe('X-Custom');
    expect(res.headers['access-control-expose-headers']).toBe('X-Out');
  });

  it('allows no request headers when allowedHeaders is empty, never reflecting them', async () => {
    const { app: a } = app({
      origins: ['https://app.example.com'],
      allowedHeaders: [],
      exposedHeaders: [],
    });
    const res = await request(a)
      .options('/data')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'X-Anything');
    expect(res.headers['access-control-allow-headers']).toBeUndefined();
    expect(res.headers['access-control-expose-headers']).toBeUndefined();
  });
});

describe('corsPolicy options', () => {
  it.each([
    ['* with credentials', { origins: ['*'], credentials: true, env: 'development' }],
    ['* in production', { origins: ['*'], env: 'production' }],
    ['* in prod', { origins: ['*'], env: 'prod' }],
    ['* mixed with origins', { origins: ['*', 'https://a.example.com'], env: 'development' }],
    ['an unanchored RegExp', { origins: [/example\.com/] }],
    ['a RegExp anchored only at the start', { origins: [/^https:\/\/a\.example\.com/] }],
    ['a RegExp ending in an escaped $', { origins: [/^https:\/\/a\.example\.com\$/] }],
    ['a top-level alternation', { origins: [/^https:\/\/a\.example\.com|b\.example\.com$/] }],
    ['a global RegExp', { origins: [/^https:\/\/a\.example\.com$/g] }],
    ['null', { origins: ['null'] }],
    ['a bare host', { origins: ['app.example.com'] }],
    ['a path', { origins: ['https://app.example.com/app'] }],
    ['a query', { origins: ['https://app.example.com?x=1'] }],
    ['a fragment', { origins: ['https://app.example.com#x'] }],
    ['userinfo', { origins: ['https://user:pass@app.example.com'] }],
    ['another scheme', { origins: ['ftp://app.example.com'] }],
    ['a malformed URL', { origins: ['https://exa mple.com'] }],
    ['a bad port', { origins: ['https://app.example.com:99999'] }],
    ['a wildcard over a TLD', { origins: ['https://*.com'] }],
    ['a wildcard over an IP', { origins: ['https://*.0.0.1'] }],
    ['a non-string entry', { origins: [42] }],
    ['no origins', { origins: [] }],
    ['origins as a string', { origins: 'https://app.example.com' }],
    ['missing origins', {}],
    ['maxAge -1', { origins: ['https://a.example.com'], maxAge: -1 }],
    ['maxAge NaN', { origins: ['https://a.example.com'], maxAge: Number.NaN }],
    ['maxAge Infinity', { origins: ['https://a.example.com'], maxAge: Number.POSITIVE_INFINITY }],
    ['maxAge as a string', { origins: ['https://a.example.com'], maxAge: '600' }],
    ['maxAge null', { origins: ['https://a.example.com'], maxAge: null }],
    ['maxAge over a day', { origins: ['https://a.example.com'], maxAge: 86_401 }],
    ['credentials as a string', { origins: ['https://a.example.com'], credentials: 'true' }],
    ['a bad method', { origins: ['https://a.example.com'], methods: ['GET POST'] }],
    ['a bad header', { origins: ['https://a.example.com'], allowedHeaders: ['X:Y'] }],
    ['methods as an object', { origins: ['https://a.example.com'], methods: {} }],
    ['an unknown key', { origins: ['https://a.example.com'], origin: 'x' }],
  ])('refuses %s', (_case, options) => {
    expect(() => corsPolicy(options as never)).toThrow(BulwarkConfigError);
  });

  it('reads the environment when env is not given', () => {
    const saved = process.env.ENVIRONMENT;
    process.env.ENVIRONMENT = 'production';
    try {
      expect(() => corsPolicy({ origins: ['*'] })).toThrow(/refused in production/);
    } finally {
      if (saved === undefined) delete process.env.ENVIRONMENT;
      else process.env.ENVIRONMENT = saved;
    }
  });

  it('accepts an anchored RegExp with a grouped alternation', () => {
    expect(corsPolicy({ origins: [/^https:\/\/(?:a|b)\.example\.com$/i] }).name).toBe(
      'corsPolicyMiddleware',
    );
  });
});
