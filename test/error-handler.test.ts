import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import createError from 'http-errors';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { withoutAbsolutePaths } from '../src/error-handler.js';
import {
  BulwarkConfigError,
  BulwarkError,
  ERROR_CATALOG,
  errorHandler,
  isBulwarkConfigError,
  isBulwarkError,
  notFound,
  PathTraversalError,
  PostgresTimeoutError,
  RedisClusterNotConnectedError,
  RedisTimeoutError,
  securityEvents,
} from '../src/index.js';
import { EXPRESS_VERSIONS, jsonApp, type ExpressFactory } from './helpers/express.js';

function appWith(factory: ExpressFactory, env: string, thrown: () => unknown) {
  const app = jsonApp(factory);
  app.post('/boom', () => {
    throw thrown();
  });
  app.post('/echo', (req, res) => {
    res.json(req.body);
  });
  app.use(errorHandler({ env }));
  return app;
}

describe.each(EXPRESS_VERSIONS)('errorHandler on %s', (_name, factory) => {
  it('renders a BulwarkError as an RFC 9457 problem with its headers', async () => {
    const app = appWith(
      factory,
      'production',
      () =>
        new BulwarkError('auth.invalid_token', {
          detail: 'The access token is not valid.',
          headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
        }),
    );
    const res = await request(app).post('/boom');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(res.text)).toEqual({
      type: 'urn:bulwark:problem:auth.invalid_token',
      title: 'Invalid token',
      status: 401,
      detail: 'The access token is not valid.',
      code: 'auth.invalid_token',
    });
  });

  it.each([
    ['development', true],
    ['production', false],
  ])('turns an unknown error into a bare 500 in %s (debug shown: %s)', async (env, debug) => {
    const events: unknown[] = [];
    const off = securityEvents.on('error.unhandled', (e) => events.push(e));
    const app = appWith(factory, env, () => new Error('db password is hunter2'));
    const res = await request(app).post('/boom');
    off();
    expect(res.status).toBe(500);
    const body = JSON.parse(res.text) as Record<string, unknown>;
    expect(body.code).toBe('internal.error');
    expect(body.title).toBe('Internal Server Error');
    expect('debug' in body).toBe(debug);
    if (!debug) expect(res.text).not.toContain('hunter2');
    expect(events).toHaveLength(1);
  });

  it('answers a config error that escapes into a request with a bare, reported 500', async () => {
    const events: unknown[] = [];
    const off = securityEvents.on('error.unhandled', (e) => events.push(e));
    const app = appWith(
      factory,
      'production',
      () => new BulwarkConfigError('someFactory', ['FAKE-problem naming a setting']),
    );
    const res = await request(app).post('/boom');
    off();
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text)).toEqual({
      type: 'urn:bulwark:problem:internal.error',
      title: 'Internal Server Error',
      status: 500,
      code: 'internal.error',
    });
    expect(events).toHaveLength(1);
  });

  it.each<[string, () => BulwarkError, string, string]>([
    ['a Redis timeout', () => new RedisTimeoutError(1000), 'store.timeout', 'Store timed out'],
    [
      'a PostgreSQL timeout',
      () => new PostgresTimeoutError(2000),
      'store.timeout',
      'Store timed out',
    ],
    [
      'a Redis Cluster not connected yet',
      () => new RedisClusterNotConnectedError(),
      'store.unavailable',
      'Store unavailable',
    ],
  ])('answers %s with 503 %s, without its message', async (_s, make, code, title) => {
    const app = appWith(factory, 'development', make);
    const res = await request(app).post('/boom');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toEqual({
      type: `urn:bulwark:problem:${code}`,
      title,
      status: 503,
      code,
    });
  });

  it('maps malformed JSON to 400 request.invalid_json without echoing the input', async () => {
    const app = appWith(factory, 'production', () => undefined);
    const res = await request(app)
      .post('/echo')
      .set('Content-Type', 'application/json')
      .send('{"secret": "sk-fake-not-a-key", ');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).code).toBe('request.invalid_json');
    expect(res.text).not.toContain('sk-fake');
  });

  it('maps an oversized body to 413 request.too_large', async () => {
    const app = factory();
    app.use(factory.json({ limit: 10 }));
    app.post('/echo', (_req, res) => res.end());
    app.use(errorHandler({ env: 'production' }));
    const res = await request(app)
      .post('/echo')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ a: 'x'.repeat(50) }));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text).code).toBe('request.too_large');
  });

  it('maps an unsupported charset to 415', async () => {
    const app = appWith(factory, 'production', () => undefined);
    const res = await request(app)
      .post('/echo')
      .set('Content-Type', 'application/json; charset=klingon')
      .send('{}');
    expect(res.status).toBe(415);
    expect(JSON.parse(res.text).code).toBe('request.unsupported_media_type');
  });
});

describe('errorHandler options', () => {
  it.each([[{ env: 3 }], [{ enviroment: 'production' }], ['production']])(
    'refuses %j at creation',
    (options) => {
      expect(() => errorHandler(options as never)).toThrow(BulwarkConfigError);
    },
  );

  it('suggests the option meant by a typo', () => {
    expect(() => errorHandler({ Env: 'production' } as never)).toThrow(/Did you mean `env`\?/);
  });
});

describe('BulwarkError', () => {
  it.each<[string, () => BulwarkError, string]>([
    ['BulwarkConfigError', () => new BulwarkConfigError('f', ['p']), 'config.invalid'],
    ['RedisTimeoutError', () => new RedisTimeoutError(5), 'store.timeout'],
    ['PostgresTimeoutError', () => new PostgresTimeoutError(5), 'store.timeout'],
    [
      'RedisClusterNotConnectedError',
      () => new RedisClusterNotConnectedError(),
      'store.unavailable',
    ],
    ['PathTraversalError', () => new PathTraversalError('null_byte'), 'path.traversal'],
  ])('%s is a BulwarkError with a catalogued code', (name, make, code) => {
    const error = make();
    expect(error).toBeInstanceOf(BulwarkError);
    expect(isBulwarkError(error)).toBe(true);
    expect(error.code).toBe(code);
    expect(Object.hasOwn(ERROR_CATALOG, error.code)).toBe(true);
    expect(error.status).toBe(ERROR_CATALOG[error.code].status);
    if (name !== 'PathTraversalError') expect(error.name).toBe(name);
  });

  // What a subclass from the other build (CJS beside ESM) looks like: same name and code, another class.
  it.each([
    ['BulwarkError', 'internal.error', true],
    ['RedisTimeoutError', 'store.timeout', true],
    ['PostgresTimeoutError', 'store.timeout', true],
    ['RedisClusterNotConnectedError', 'store.unavailable', true],
    ['UpstreamTimeout', 'upstream.unavailable', true],
    ['RedisClusterNotConnectedError', 'store.not_a_code', false],
    ['SomeoneElsesError', 'store.unavailable', false],
  ])('isBulwarkError narrows a %s with code %s from another copy: %s', (name, code, narrows) => {
    const foreign = Object.assign(new Error('from the other build'), { name, code });
    expect(isBulwarkError(foreign)).toBe(narrows);
  });

  it("keeps a config error's problems in its message, never in its problem document", () => {
    const error = new BulwarkConfigError('someFactory', ['`x` must be a number']);
    expect(error.message).toBe('someFactory: 1 configuration problem:\n  - `x` must be a number');
    expect(error.expose).toBe(false);
    expect(JSON.stringify(error.toProblem())).not.toContain('must be a number');
    expect(isBulwarkConfigError(error)).toBe(true);
    expect(isBulwarkConfigError(new BulwarkError('internal.error'))).toBe(false);
  });

  it('never renders its cause', () => {
    const error = new BulwarkError('internal.error', { cause: new Error('secret detail') });
    expect(JSON.stringify(error.toProblem())).not.toContain('secret detail');
  });

  it('lets extensions add members but not override the fixed ones', () => {
    const error = new BulwarkError('validation.failed', {
      extensions: { errors: [], status: 200, code: 'x' },
    });
    expect(error.toProblem()).toMatchObject({ status: 400, code: 'validation.failed', errors: [] });
  });
});

describe.each(EXPRESS_VERSIONS)(
  'errorHandler and Express client errors on %s',
  (_name, factory) => {
    it('turns an undecodable route parameter into 400 request.bad_request, not a 500', async () => {
      const app = factory();
      let ran = false;
      app.get('/files/:name', (_req, res) => {
        ran = true;
        res.end();
      });
      app.use(errorHandler({ env: 'production' }));
      const res = await request(app).get('/files/%c0%ae');
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text).code).toBe('request.bad_request');
      expect(res.text).not.toContain('Failed to decode');
      expect(ran).toBe(false);
    });
  },
);

/** Shaped like express-jwt's `UnauthorizedError`: a 401 `status`, no `expose`. */
class UnauthorizedError extends Error {
  readonly status = 401;
  readonly code = 'invalid_token';
  constructor(message: string) {
    super(message);
    this.name = 'UnauthorizedError';
  }
}

describe.each(EXPRESS_VERSIONS)(
  'errorHandler and other middleware errors on %s',
  (_name, factory) => {
    function appThrowing(env: string, thrown: () => unknown) {
      const app = factory();
      const ran = { handler: false };
      app.use('/guarded', (_req, _res, next) => {
        next(thrown());
      });
      app.get('/guarded', (_req, res) => {
        ran.handler = true;
        res.end();
      });
      app.use(errorHandler({ env }));
      return { app, ran };
    }

    it.each([
      [
        'http-errors 401 with a message',
        () => createError(401, 'Token expired'),
        401,
        'auth.unauthorized',
        'Token expired',
      ],
      [
        'http-errors 413 not exposed',
        () => createError(413, 'body of /srv/app too big', { expose: false }),
        413,
        'request.too_large',
        undefined,
      ],
      ['http-errors 404', () => createError(404), 404, 'resource.not_found', 'Not Found'],
      ['http-errors 403', () => createError(403, 'no'), 403, 'auth.forbidden', 'no'],
      ['http-errors 409', () => createError(409, 'taken'), 409, 'resource.conflict', 'taken'],
      [
        'http-errors 405',
        () => createError(405, 'Use POST'),
        405,
        'request.client_error',
        'Use POST',
      ],
      [
        'http-errors 422',
        () => createError(422),
        422,
        'request.client_error',
        'Unprocessable Entity',
      ],
      [
        'express-jwt UnauthorizedError (no expose)',
        () => new UnauthorizedError('jwt malformed'),
        401,
        'auth.unauthorized',
        undefined,
      ],
      [
        'a plain error with statusCode 413',
        () => Object.assign(new Error('too big'), { statusCode: 413 }),
        413,
        'request.too_large',
        undefined,
      ],
    ])('keeps the status of %s', async (_label, thrown, status, code, detail) => {
      const { app, ran } = appThrowing('production', thrown);
      const res = await request(app).get('/guarded');
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      const body = JSON.parse(res.text) as Record<string, unknown>;
      expect(body.code).toBe(code);
      expect(body.status).toBe(status);
      expect(body.detail).toBe(detail);
      if (status === 401) expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
      expect(ran.handler).toBe(false);
    });

    it('sends the headers an http-error carries, its own WWW-Authenticate included', async () => {
      const { app } = appThrowing('production', () =>
        createError(401, 'who?', { headers: { 'WWW-Authenticate': 'Basic realm="admin"' } }),
      );
      const res = await request(app).get('/guarded');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Basic realm="admin"');
    });

    it.each([
      ['http-errors 500', () => createError(500, 'db password is hunter2')],
      ['http-errors 503', () => createError(503, 'db password is hunter2')],
      [
        'a 5xx statusCode',
        () => Object.assign(new Error('db password is hunter2'), { statusCode: 502 }),
      ],
      [
        'an out-of-range status',
        () => Object.assign(new Error('db password is hunter2'), { status: 4000 }),
      ],
    ])('turns %s into a bare 500', async (_label, thrown) => {
      const { app, ran } = appThrowing('production', thrown);
      const res = await request(app).get('/guarded');
      expect(res.status).toBe(500);
      const body = JSON.parse(res.text) as Record<string, unknown>;
      expect(body).toEqual({
        type: 'urn:bulwark:problem:internal.error',
        title: 'Internal Server Error',
        status: 500,
        code: 'internal.error',
      });
      expect(ran.handler).toBe(false);
    });

    it('never shows an absolute path in development debug output', async () => {
      const missing = join(process.cwd(), 'no-such-folder', 'settings.json');
      const { app } = appThrowing('development', () => {
        try {
          readFileSync(missing);
        } catch (error) {
          return error;
        }
        return new Error('unreachable');
      });
      const res = await request(app).get('/guarded');
      expect(res.status).toBe(500);
      const body = JSON.parse(res.text) as { debug: { message: string; stack: string } };
      expect(body.debug.message).toContain('ENOENT');
      expect(body.debug.message).toContain('settings.json');
      expect(res.text).not.toContain(process.cwd());
      expect(res.text).not.toMatch(/[\s('"](?:\/|[A-Za-z]:\\)[^\s'")]*[\\/]/);
    });

    it('notFound() answers an unmatched route with a 404 problem', async () => {
      const app = factory();
      let ran = false;
      app.get('/known', (_req, res) => {
        ran = true;
        res.end();
      });
      app.use(notFound());
      app.use(errorHandler({ env: 'production' }));
      const res = await request(app).post('/known');
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(JSON.parse(res.text)).toMatchObject({ status: 404, code: 'resource.not_found' });
      expect(ran).toBe(false);
    });
  },
);

describe('withoutAbsolutePaths', () => {
  it.each([
    ["open '/srv/app/secret/conf.json'", "open '…/conf.json'", '/work'],
    ['at f (/work/app/src/a.ts:1:2)', 'at f (./src/a.ts:1:2)', '/work/app'],
    ['at f (file:///opt/app/dist/index.js:3:4)', 'at f (…/index.js:3:4)', '/work'],
    ['at f (C:\\Users\\me\\app\\index.js:1:1)', 'at f (…/index.js:1:1)', '/work'],
    ['see a/b and http://example.com/x', 'see a/b and http://example.com/x', '/work'],
  ])('%s -> %s', (input, output, cwd) => {
    expect(withoutAbsolutePaths(input, cwd)).toBe(output);
  });
});
