import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { BulwarkConfigError, BulwarkError, errorHandler, securityEvents } from '../../src/index.js';
import { EXPRESS_VERSIONS, jsonApp, type ExpressFactory } from '../helpers/express.js';

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
