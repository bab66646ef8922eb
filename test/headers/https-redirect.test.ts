import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { BulwarkConfigError, httpsRedirect, trustedHosts } from '../../src/index.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express.js';
import { rawRequest } from '../helpers/raw-http.js';
import { captureWarnings } from '../helpers/warnings.js';

function build(
  factory: ExpressFactory,
  options: {
    trustProxy?: boolean;
    vetHosts?: boolean;
    redirect?: Parameters<typeof httpsRedirect>[0];
  } = {},
) {
  const hits: string[] = [];
  const app = factory();
  if (options.trustProxy === true) app.set('trust proxy', 'loopback');
  if (options.vetHosts !== false) app.use(trustedHosts(['api.example.com', '127.0.0.1:*']));
  app.use(httpsRedirect(options.redirect));
  app.use((req, res) => {
    hits.push(req.path);
    res.json({ ok: true });
  });
  return { app, hits };
}

describe('httpsRedirect warnings and options', () => {
  it('warns once when building redirects from an unchecked Host', async () => {
    const warnings = captureWarnings();
    const { app } = build(EXPRESS_VERSIONS[0][1], { vetHosts: false });
    await request(app).get('/').set('Host', 'api.example.com');
    await request(app).get('/').set('Host', 'api.example.com');
    expect(warnings.codes()).toEqual(['BULWARK_REDIRECT_UNCHECKED_HOST']);
  });

  it.each([
    ['a host with a scheme', { host: 'https://api.example.com' }],
    ['a host with a path', { host: 'api.example.com/x' }],
    ['a host with userinfo', { host: 'u@api.example.com' }],
    ['an empty host', { host: '' }],
    ['a numeric host', { host: 42 }],
    ['an exclude without a slash', { exclude: ['health'] }],
    ['exclude as a string', { exclude: '/health' }],
    ['an unknown key', { hosts: ['api.example.com'] }],
    ['a non-object', 'api.example.com'],
  ])('refuses %s', (_case, options) => {
    expect(() => httpsRedirect(options as never)).toThrow(BulwarkConfigError);
  });
});

describe.each(EXPRESS_VERSIONS)('httpsRedirect on %s', (_name, factory) => {
  it('redirects plain HTTP with 308 to the same checked host, path and query', async () => {
    const { app, hits } = build(factory);
    const res = await request(app).get('/v1/items?page=2&q=a%20b').set('Host', 'api.example.com');
    expect(res.status).toBe(308);
    expect(res.headers.location).toBe('https://api.example.com/v1/items?page=2&q=a%20b');
    expect(hits).toEqual([]);
  });

  it('keeps the method: a POST gets 308, not 301/302', async () => {
    const { app, hits } = build(factory);
    const res = await request(app).post('/v1/items').set('Host', 'api.example.com').send({ a: 1 });
    expect(res.status).toBe(308);
    expect(hits).toEqual([]);
  });

  it('passes requests a trusted proxy says arrived over https', async () => {
    const { app, hits } = build(factory, { trustProxy: true });
    const res = await request(app)
      .get('/x')
      .set('Host', 'api.example.com')
      .set('X-Forwarded-Proto', 'https');
    expect(res.status).toBe(200);
    expect(hits).toEqual(['/x']);
  });

  it('redirects when a trusted proxy says http', async () => {
    const { app } = build(factory, { trustProxy: true });
    const res = await request(app)
      .get('/x')
      .set('Host', 'api.example.com')
      .set('X-Forwarded-Proto', 'http');
    expect(res.status).toBe(308);
  });

  it('ignores a spoofed X-Forwarded-Proto while proxies are not trusted', async () => {
    const { app, hits } = build(factory);
    const res = await request(app)
      .get('/x')
      .set('Host', 'api.example.com')
      .set('X-Forwarded-Proto', 'https');
    expect(res.status).toBe(308);
    expect(res.headers.location).toBe('https://api.example.com/x');
    expect(hits).toEqual([]);
  });

  it('uses the fixed host option whatever the request says', async () => {
    const { app } = build(factory, { vetHosts: false, redirect: { host: 'API.example.com' } });
    const res = await request(app).get('/x').set('Host', 'evil.example');
    expect(res.status).toBe(308);
    expect(res.headers.location).toBe('https://api.example.com/x');
  });

  it('never lets an absolute-form or odd request line pick the target', async () => {
    const { app } = build(factory, { vetHosts: false, redirect: { host: 'api.example.com' } });
    const res = await rawRequest(app, [
      'GET http://evil.com/steal HTTP/1.1',
      'Host: api.example.com',
    ]);
    expect(res.status).toBe(308);
    expect(res.headers.location).toBe('https://api.example.com/');
    const slashes = await rawRequest(app, ['GET //evil.com/x HTTP/1.1', 'Host: api.example.com']);
    expect(slashes.headers.location).toBe('https://api.example.com//evil.com/x');
  });

  it('serves excluded paths over plain HTTP', async () => {
    const { app, hits } = build(factory, { redirect: { exclude: ['/health'] } });
    const res = await request(app).get('/health').set('Host', 'api.example.com');
    expect(res.status).toBe(200);
    expect(hits).toEqual(['/health']);
  });

  it('refuses to redirect to an unparseable host when no host option is set', async () => {
    const { app, hits } = build(factory, { vetHosts: false });
    const res = await rawRequest(app, ['GET / HTTP/1.1', 'Host: user@evil.com']);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).code).toBe('host.untrusted');
    expect(res.headers.location).toBeUndefined();
    expect(hits).toEqual([]);
  });
});
