import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BulwarkConfigError,
  BulwarkError,
  bodyLimits,
  errorHandler,
  isBulwarkConfigError,
  notFound,
  serverClasses,
  serverTimeouts,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express.js';
import { runNativesFixture } from '../helpers/natives.js';

/** One app with a route for each part of Express a handler leans on. */
function buildApp(factory: ExpressFactory): Express {
  const app = factory();
  app.use(bodyLimits({ maxBytes: 256 }));
  app.post('/echo', (req, res) => {
    res.json({ body: req.body as unknown, type: req.get('content-type') });
  });
  app.get('/info', (req, res) => {
    res
      .status(203)
      .set('X-Custom', 'custom value')
      .json({
        ip: req.ip,
        thing: req.get('X-Thing'),
        query: req.query,
        path: req.path,
        protocol: req.protocol,
        hostname: req.hostname,
        secure: req.secure,
        xhr: req.xhr,
        fresh: req.fresh,
        accepts: req.accepts(['text/html', 'application/json']),
      });
  });
  app.get('/prototypes', (req, res) => {
    res.json({
      request: Object.getPrototypeOf(req) === app.request,
      response: Object.getPrototypeOf(res) === app.response,
      incomingMessage: req instanceof IncomingMessage,
      serverResponse: res instanceof ServerResponse,
    });
  });
  app.get('/boom', () => {
    throw new Error('a bug in a handler');
  });
  app.get('/conflict', () => {
    throw new BulwarkError('resource.conflict', { detail: 'already there' });
  });
  app.get('/old', (_req, res) => {
    res.redirect(301, '/new');
  });
  app.get('/text', (_req, res) => {
    res.type('text').send('plain words');
  });

  const subApp = factory();
  subApp.get('/hello', (req, res) => {
    res.set('X-Sub', 'yes').json({
      baseUrl: req.baseUrl,
      originalUrl: req.originalUrl,
      path: req.path,
      query: req.query,
      // Inside a sub-app Express gives req and res the sub-app's prototypes.
      subRequest: Object.getPrototypeOf(req) === subApp.request,
      subResponse: Object.getPrototypeOf(res) === subApp.response,
    });
  });
  app.use('/sub', subApp);
  subApp.get('/pass', (_req, _res, next) => {
    next();
  });
  // Back in the parent app after the sub-app passed the request on.
  app.use('/sub', (req, res) => {
    res.json({ backInParent: Object.getPrototypeOf(req) === app.request, url: req.url });
  });

  const router = factory.Router();
  router.get('/items/:id', (req, res) => {
    res.status(200).json({ id: req.params.id, baseUrl: req.baseUrl, query: req.query });
  });
  app.use('/router', router);

  app.use(notFound());
  app.use(errorHandler({ env: 'production' }));
  return app;
}

interface Ask {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

async function ask(base: string, { method, path, headers, body }: Ask): Promise<Answer> {
  const response = await fetch(base + path, {
    method,
    ...(headers === undefined ? {} : { headers }),
    ...(body === undefined ? {} : { body }),
    redirect: 'manual',
  });
  const answer: Answer = { status: response.status, body: await response.text(), headers: {} };
  // `date` is the only header that may differ between two answers to the same request.
  for (const [name, value] of response.headers) if (name !== 'date') answer.headers[name] = value;
  return answer;
}

async function listening(server: Server): Promise<string> {
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
}

const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const JSON_HEADERS = { 'Content-Type': 'application/json' };

const REQUESTS: [string, Ask][] = [
  [
    'a JSON echo through bodyLimits()',
    { method: 'POST', path: '/echo', headers: JSON_HEADERS, body: '{"a":[1,2],"b":{"c":"x"}}' },
  ],
  [
    'a malformed JSON body',
    { method: 'POST', path: '/echo', headers: JSON_HEADERS, body: '{"a":' },
  ],
  [
    'a body over maxBytes',
    { method: 'POST', path: '/echo', headers: JSON_HEADERS, body: `"${'x'.repeat(300)}"` },
  ],
  [
    'req.ip, req.get(), req.query with res.status() and a set header',
    {
      method: 'GET',
      path: '/info?x=1&y=a&y=b&z[k]=v',
      headers: { 'X-Thing': 'thing value', Accept: 'application/json' },
    },
  ],
  ['the prototypes a handler sees', { method: 'GET', path: '/prototypes' }],
  ['a thrown error through errorHandler()', { method: 'GET', path: '/boom' }],
  ['a thrown BulwarkError through errorHandler()', { method: 'GET', path: '/conflict' }],
  ['a redirect', { method: 'GET', path: '/old' }],
  ['res.send() of text', { method: 'GET', path: '/text' }],
  ['a route in a mounted sub-app', { method: 'GET', path: '/sub/hello?q=1' }],
  ['a sub-app passing the request back', { method: 'GET', path: '/sub/pass' }],
  ['a route in a router', { method: 'GET', path: '/router/items/42?full=yes' }],
  ['an unmatched path through notFound()', { method: 'GET', path: '/nope' }],
];

describe.each(EXPRESS_VERSIONS)('serverClasses with %s', (name, factory) => {
  let listened = '';
  let classed = '';
  beforeAll(async () => {
    const app = buildApp(factory);
    const plain = app.listen(0, '127.0.0.1');
    const withClasses = createServer({ ...serverTimeouts(), ...serverClasses(app) }, app).listen(
      0,
      '127.0.0.1',
    );
    servers.push(plain, withClasses);
    [listened, classed] = await Promise.all([listening(plain), listening(withClasses)]);
  });

  it.each(REQUESTS)('answers %s as app.listen() does', async (_what, request) => {
    const [expected, actual] = await Promise.all([ask(listened, request), ask(classed, request)]);
    expect(actual).toEqual(expected);
  });

  it('answers each request in the table with the status the app means', async () => {
    // The comparison above is only worth something if the app really ran.
    const statuses = await Promise.all(REQUESTS.map(([, r]) => ask(classed, r)));
    expect(statuses.map((a) => a.status)).toEqual([
      200, 400, 413, 203, 200, 500, 409, 301, 200, 200, 200, 200, 404,
    ]);
  });

  it("builds req and res with the app's prototypes", async () => {
    const answer = await ask(classed, { method: 'GET', path: '/prototypes' });
    expect(JSON.parse(answer.body)).toEqual({
      request: true,
      response: true,
      incomingMessage: true,
      serverResponse: true,
    });
  });

  it("gives a sub-app's handler the sub-app's prototypes, and the parent's back after it", async () => {
    const inside = await ask(classed, { method: 'GET', path: '/sub/hello' });
    expect(JSON.parse(inside.body)).toMatchObject({ subRequest: true, subResponse: true });
    const after = await ask(classed, { method: 'GET', path: '/sub/pass' });
    expect(JSON.parse(after.body)).toEqual({ backInParent: true, url: '/pass' });
  });

  it('keeps two requests at the same route on one hidden class, where app.listen() splits them', async () => {
    expect(await runNativesFixture(import.meta.url, './fixtures/same-map.ts', name)).toEqual({
      listen: { req: false, res: false },
      classes: { req: true, res: true },
    });
  }, 60_000);
});

describe('serverClasses refuses what is not an Express app', () => {
  const express = EXPRESS_VERSIONS[0][1];
  const app = express();

  it.each([
    ['undefined', undefined, ['`app.request`', '`app.response`']],
    ['null', null, ['`app.request`', '`app.response`']],
    ['an empty object', {}, ['`app.request`', '`app.response`']],
    [
      'plain request and response objects',
      { request: {}, response: {} },
      ['`app.request`', '`app.response`'],
    ],
    ['a non-Express object', new EventEmitter(), ['`app.request`', '`app.response`']],
    [
      'a bare request listener',
      (_req: unknown, _res: unknown) => undefined,
      ['`app.request`', '`app.response`'],
    ],
    [
      "an app's prototypes swapped",
      { request: app.response, response: app.request },
      ['`app.request`', '`app.response`'],
    ],
    ['an app without a response', { request: app.request }, ['`app.response`']],
    ['an app without a request', { response: app.response }, ['`app.request`']],
  ])('refuses %s', (_what, given, named) => {
    let thrown: unknown;
    try {
      serverClasses(given as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BulwarkConfigError);
    const error = thrown as BulwarkConfigError;
    expect(error.code).toBe('config.invalid');
    expect(error.problems).toHaveLength(named.length);
    for (const name of named) expect(error.message).toContain(name);
    for (const name of ['`app.request`', '`app.response`'].filter((n) => !named.includes(n))) {
      expect(error.message).not.toContain(name);
    }
  });

  it.each(EXPRESS_VERSIONS)('accepts an %s app', (_name, factory) => {
    const options = serverClasses(factory());
    expect(Object.keys(options).sort()).toEqual(['IncomingMessage', 'ServerResponse']);
  });
});

describe('serverClasses on a Node whose http classes are ES classes', () => {
  afterAll(() => {
    vi.doUnmock('node:http');
    vi.resetModules();
  });

  it('refuses to start, saying to leave it out', async () => {
    vi.resetModules();
    vi.doMock('node:http', async (importOriginal) => {
      const original = await importOriginal<typeof http>();
      // What a Node that rewrote them as classes would export; instanceof
      // still answers for the real ones, so only the class check fails.
      class IncomingMessage extends original.IncomingMessage {
        static override [Symbol.hasInstance](value: unknown): boolean {
          return value instanceof original.IncomingMessage;
        }
      }
      return { ...original, IncomingMessage };
    });
    const { serverClasses: withClasses } = await import('../../src/request/server-classes.js');
    const app = EXPRESS_VERSIONS[0][1]();
    let thrown: unknown;
    try {
      withClasses(app);
    } catch (error) {
      thrown = error;
    }
    expect(isBulwarkConfigError(thrown)).toBe(true);
    const error = thrown as BulwarkConfigError;
    expect(error.code).toBe('config.invalid');
    expect(error.problems).toEqual([expect.stringContaining('leave serverClasses() out')]);
  });
});
