import type { RequestHandler } from 'express';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  apiKeyAuth,
  bodyLimits,
  createApiKeyService,
  createTokenService,
  memoryStore,
  securityEvents,
  jwtAuth,
  trustedHosts,
  type SecurityEvent,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express.js';
import { rawRequest } from '../helpers/raw-http.js';

// Headers whose second line is ambiguous for a security decision. Node keeps the
// first Host, Authorization and Content-Type in `req.headers`; a proxy, cache or
// other parser may act on the last. Each row sends its header twice over a raw
// socket (client libraries merge or refuse repeated headers) and checks that
// the route never runs.

const tokens = createTokenService({
  secret: 'test-FAKE-duplicate-headers-secret-0123456789abcdef',
  issuer: 'https://issuer.example.test',
  audience: 'bulwark-test-api',
  store: memoryStore(),
});
const keys = createApiKeyService({ store: memoryStore() });
let good = '';
let other = '';
let apiKey = '';

beforeAll(async () => {
  good = (await tokens.issue({ sub: 'alice', roles: [] })).access_token;
  other = (await tokens.issue({ sub: 'mallory', roles: [] })).access_token;
  apiKey = (await keys.issue({ name: 'ci', scopes: [] })).key;
});

type Row = readonly [
  name: string,
  middleware: () => RequestHandler,
  lines: () => string[],
  body: string | undefined,
  status: number,
  code: string,
  event: string,
  reason: string,
];

const ROWS: readonly Row[] = [
  [
    'two Host lines, the second unlisted',
    () => trustedHosts(['api.example.com']),
    () => ['Host: api.example.com', 'Host: evil.example'],
    undefined,
    400,
    'host.untrusted',
    'host.rejected',
    'duplicate_host',
  ],
  [
    'two Authorization lines, valid then garbage (jwtAuth)',
    () => jwtAuth({ tokens }),
    () => ['Host: t', `Authorization: Bearer ${good}`, 'Authorization: Bearer x.y.z'],
    undefined,
    401,
    'auth.invalid_token',
    'auth.failed',
    'duplicate_authorization',
  ],
  [
    'two Authorization lines, both valid for different users (jwtAuth)',
    () => jwtAuth({ tokens }),
    () => ['Host: t', `Authorization: Bearer ${good}`, `Authorization: Bearer ${other}`],
    undefined,
    401,
    'auth.invalid_token',
    'auth.failed',
    'duplicate_authorization',
  ],
  [
    'two Authorization lines, the same token twice (jwtAuth)',
    () => jwtAuth({ tokens }),
    () => ['Host: t', `Authorization: Bearer ${good}`, `authorization: Bearer ${good}`],
    undefined,
    401,
    'auth.invalid_token',
    'auth.failed',
    'duplicate_authorization',
  ],
  [
    'two Authorization lines, a key then garbage (apiKeyAuth)',
    () => apiKeyAuth({ keys }),
    () => ['Host: t', `Authorization: Bearer ${apiKey}`, 'Authorization: Bearer bwk_x_y'],
    undefined,
    401,
    'auth.invalid_api_key',
    'auth.failed',
    'ambiguous_credentials',
  ],
  [
    'X-API-Key plus two Authorization lines (apiKeyAuth)',
    () => apiKeyAuth({ keys }),
    () => ['Host: t', `X-API-Key: ${apiKey}`, 'Authorization: Basic a', 'Authorization: Basic b'],
    undefined,
    401,
    'auth.invalid_api_key',
    'auth.failed',
    'ambiguous_credentials',
  ],
  [
    'two Content-Type lines, JSON then text (bodyLimits)',
    () => bodyLimits(),
    () => [
      'POST / HTTP/1.1',
      'Host: t',
      'Content-Type: application/json',
      'Content-Type: text/plain',
      'Content-Length: 2',
    ],
    '{}',
    400,
    'request.bad_request',
    'request.rejected',
    'duplicate_header',
  ],
  [
    'two Content-Type lines, the same value (bodyLimits)',
    () => bodyLimits(),
    () => [
      'POST / HTTP/1.1',
      'Host: t',
      'Content-Type: application/json',
      'Content-Type: application/json',
      'Content-Length: 2',
    ],
    '{}',
    400,
    'request.bad_request',
    'request.rejected',
    'duplicate_header',
  ],
];

describe.each(EXPRESS_VERSIONS)('duplicate headers on %s', (_name, factory: ExpressFactory) => {
  let events: SecurityEvent[];
  let offs: (() => void)[];
  beforeEach(() => {
    events = [];
    offs = ['host.rejected', 'auth.failed', 'request.rejected'].map((type) =>
      securityEvents.on(type as 'auth.failed', (e) => events.push(e)),
    );
  });
  afterEach(() => {
    for (const off of offs) off();
  });

  function appWith(middleware: RequestHandler): {
    app: ReturnType<ExpressFactory>;
    ran: () => number;
  } {
    const app = factory();
    let ran = 0;
    app.use(middleware, (_req, res) => {
      ran++;
      res.json({ ok: true });
    });
    return { app, ran: () => ran };
  }

  it.each(ROWS)(
    'refuses %s',
    async (_case, middleware, lines, body, status, code, event, reason) => {
      const { app, ran } = appWith(middleware());
      const head = lines();
      const request = head[0]?.startsWith('POST') ? head : ['GET / HTTP/1.1', ...head];
      const res = await rawRequest(app, request, body === undefined ? {} : { body });
      expect(res.status).toBe(status);
      expect(JSON.parse(res.body)).toMatchObject({ status, code });
      expect(ran()).toBe(0);
      expect(events.map((e) => [e.type, e.reason])).toEqual([[event, reason]]);
    },
  );

  it.each([
    ['one Host', () => trustedHosts(['api.example.com']), () => ['Host: api.example.com']],
    [
      'one Authorization (jwtAuth)',
      () => jwtAuth({ tokens }),
      () => ['Host: t', `Authorization: Bearer ${good}`],
    ],
    [
      'one Authorization (apiKeyAuth)',
      () => apiKeyAuth({ keys }),
      () => ['Host: t', `Authorization: Bearer ${apiKey}`],
    ],
  ])('still accepts %s', async (_case, middleware, lines) => {
    const { app, ran } = appWith(middleware());
    const res = await rawRequest(app, ['GET / HTTP/1.1', ...lines()]);
    expect(res.status).toBe(200);
    expect(ran()).toBe(1);
  });

  it('still accepts a body with one Content-Type', async () => {
    const { app, ran } = appWith(bodyLimits());
    const res = await rawRequest(
      app,
      ['POST / HTTP/1.1', 'Host: t', 'Content-Type: application/json', 'Content-Length: 2'],
      { body: '{}' },
    );
    expect(res.status).toBe(200);
    expect(ran()).toBe(1);
  });

  // Node's own parser refuses these before any middleware runs; the rows keep
  // that true across Node upgrades, since bodyLimits relies on it.
  it.each([
    ['two Content-Length lines, the same value', ['Content-Length: 2', 'Content-Length: 2']],
    ['two Content-Length lines that differ', ['Content-Length: 2', 'Content-Length: 3']],
    ['a Content-Length list', ['Content-Length: 2, 2']],
    [
      'Content-Length beside Transfer-Encoding',
      ['Content-Length: 2', 'Transfer-Encoding: chunked'],
    ],
  ])('leaves %s to Node, which answers 400', async (_case, lengthLines) => {
    const { app, ran } = appWith(bodyLimits());
    const res = await rawRequest(
      app,
      ['POST / HTTP/1.1', 'Host: t', 'Content-Type: application/json', ...lengthLines],
      { body: '{}' },
    );
    expect(res.status).toBe(400);
    expect(ran()).toBe(0);
  });
});
