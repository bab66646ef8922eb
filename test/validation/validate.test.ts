import request from 'supertest';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import * as z from 'zod';
import * as zm from 'zod/mini';
import {
  BulwarkConfigError,
  errorHandler,
  securityEvents,
  validate,
  type SecurityEvent,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, jsonApp } from '../helpers/express.js';
import { captureWarnings } from '../helpers/warnings.js';

const FAKE_SECRET = 'sk-FAKE-test-0123456789abcdefSECRET';

// The example server's /v1/echo schema.
const Echo = z.strictObject({
  message: z.string().min(1).max(2000),
  max_tokens: z.number().int().min(1).max(4096).optional(),
  temperature: z.number().min(0).max(2).optional(),
});

interface Problem {
  code: string;
  status: number;
  detail?: string;
  errors: { path: string; code: string; message: string }[];
}

function problem(res: request.Response): Problem {
  return JSON.parse(res.text) as Problem;
}

function capture() {
  const events: SecurityEvent[] = [];
  const off = securityEvents.on('validation.rejected', (e) => events.push(e));
  return { events, off };
}

function deepObject(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

describe('validate warnings', () => {
  it('warns once when a body arrives but no body parser ran', async () => {
    const warnings = captureWarnings();
    const app = EXPRESS_VERSIONS[0][1]();
    app.post('/t', validate({ body: Echo }), (_req, res) => res.json({}));
    await request(app).post('/t').send({ message: 'hi' });
    await request(app).post('/t').send({ message: 'hi' });
    expect(warnings.codes()).toEqual(['BULWARK_BODY_NOT_PARSED']);
  });
});

describe.each(EXPRESS_VERSIONS)('validate on %s', (_name, factory) => {
  let ran: number;
  beforeEach(() => {
    ran = 0;
  });

  function bodyApp(schema: z.ZodType) {
    const app = jsonApp(factory);
    app.post('/t', validate({ body: schema }), (req, res) => {
      ran++;
      res.json({ body: req.body });
    });
    app.use(errorHandler({ env: 'production' }));
    return app;
  }

  it('passes a valid body and replaces it with the parsed output', async () => {
    const schema = z.strictObject({
      name: z.string().trim(),
      tags: z.array(z.string()).default([]),
    });
    const res = await request(bodyApp(schema)).post('/t').send({ name: '  ada  ' });
    expect(res.status).toBe(200);
    expect(res.body.body).toEqual({ name: 'ada', tags: [] });
    expect(ran).toBe(1);
  });

  it.each([
    ['max_tokens at 1', { message: 'hi', max_tokens: 1 }],
    ['max_tokens at 4096', { message: 'hi', max_tokens: 4096 }],
    ['temperature at 0', { message: 'hi', temperature: 0 }],
    ['temperature at 2', { message: 'hi', temperature: 2 }],
    ['message of 1 character', { message: 'x' }],
    ['message of 2000 characters', { message: 'x'.repeat(2000) }],
  ])('accepts the boundary %s', async (_case, body) => {
    const res = await request(bodyApp(Echo)).post('/t').send(body);
    expect(res.status).toBe(200);
    expect(res.body.body).toEqual(body);
    expect(ran).toBe(1);
  });

  it.each([
    [
      'an extra field (mass assignment)',
      { message: 'hi', role: 'admin' },
      'body.role',
      'unrecognized_keys',
    ],
    ['isAdmin smuggled in', { message: 'hi', isAdmin: true }, 'body.isAdmin', 'unrecognized_keys'],
    [
      'a full-width look-alike key',
      { message: 'hi', ｍessage: 'x' },
      'body.*',
      'unrecognized_keys',
    ],
    ['a Cyrillic look-alike key', { mеssage: 'hi' }, 'body.*', 'unrecognized_keys'],
    [
      'a zero-width joiner in a key',
      { message: 'hi', 'max_\u200dtokens': 5 },
      'body.*',
      'unrecognized_keys',
    ],
    [
      'a key with a trailing space',
      { message: 'hi', 'max_tokens ': 5 },
      'body.*',
      'unrecognized_keys',
    ],
    [
      '"5" where a number belongs',
      { message: 'hi', max_tokens: '5' },
      'body.max_tokens',
      'invalid_type',
    ],
    [
      '"true" where a number belongs',
      { message: 'hi', temperature: 'true' },
      'body.temperature',
      'invalid_type',
    ],
    ['a number where a string belongs', { message: 5 }, 'body.message', 'invalid_type'],
    ['null where a string belongs', { message: null }, 'body.message', 'invalid_type'],
    [
      'an object where a string belongs',
      { message: { toString: 'x' } },
      'body.message',
      'invalid_type',
    ],
    ['an array where a string belongs', { message: ['hi'] }, 'body.message', 'invalid_type'],
    ['a missing required field', { max_tokens: 5 }, 'body.message', 'invalid_type'],
    ['max_tokens at 0', { message: 'hi', max_tokens: 0 }, 'body.max_tokens', 'too_small'],
    ['max_tokens at 4097', { message: 'hi', max_tokens: 4097 }, 'body.max_tokens', 'too_big'],
    ['max_tokens of 1.5', { message: 'hi', max_tokens: 1.5 }, 'body.max_tokens', 'invalid_type'],
    [
      'max_tokens of 1e309 (Infinity after parse)',
      JSON.parse('{"message":"hi","max_tokens":1e309}') as object,
      'body.max_tokens',
      'invalid_type',
    ],
    [
      'temperature at -0.0001',
      { message: 'hi', temperature: -0.0001 },
      'body.temperature',
      'too_small',
    ],
    [
      'temperature at 2.0001',
      { message: 'hi', temperature: 2.0001 },
      'body.temperature',
      'too_big',
    ],
    ['an empty message', { message: '' }, 'body.message', 'too_small'],
    ['a message of 2001 characters', { message: 'x'.repeat(2001) }, 'body.message', 'too_big'],
    ['an array where the object belongs', [{ message: 'hi' }], 'body', 'invalid_type'],
    ['an empty array where the object belongs', [], 'body', 'invalid_type'],
  ])('rejects %s', async (_case, body, path, code) => {
    const { events, off } = capture();
    const res = await request(bodyApp(Echo))
      .post('/t')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(body));
    off();
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    const p = problem(res);
    expect(p.code).toBe('validation.failed');
    expect(p.errors).toContainEqual(expect.objectContaining({ path, code }));
    expect(ran).toBe(0);
    expect(events).toHaveLength(1);
    expect(events[0]?.issues).toContainEqual({ path, code });
  });

  it.each([
    ['a bare string', '"hi"'],
    ['a bare number', '5'],
    ['null', 'null'],
    ['true', 'true'],
  ])('rejects %s where the object belongs (non-strict JSON parser)', async (_case, raw) => {
    const app = factory();
    app.use(factory.json({ strict: false }));
    app.post('/t', validate({ body: Echo }), (_req, res) => {
      ran++;
      res.json({});
    });
    const res = await request(app).post('/t').set('Content-Type', 'application/json').send(raw);
    expect(res.status).toBe(400);
    expect(problem(res).errors).toEqual([
      { path: 'body', code: 'invalid_type', message: 'Expected an object.' },
    ]);
    expect(ran).toBe(0);
  });

  describe('prototype pollution', () => {
    const payloads: [string, string][] = [
      ['__proto__ at the top', '{"message":"hi","__proto__":{"polluted":"yes"}}'],
      ['__proto__ nested', '{"message":"hi","meta":{"__proto__":{"polluted":"yes"}}}'],
      ['constructor.prototype', '{"message":"hi","constructor":{"prototype":{"polluted":"yes"}}}'],
      ['prototype key', '{"message":"hi","prototype":{"polluted":"yes"}}'],
      ['__proto__ as the only key', '{"__proto__":{"polluted":"yes","message":"hi"}}'],
    ];

    afterEach(() => {
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
    });

    it.each(payloads)('rejects %s with a strict schema', async (_case, raw) => {
      const res = await request(bodyApp(Echo))
        .post('/t')
        .set('Content-Type', 'application/json')
        .send(raw);
      expect(res.status).toBe(400);
      expect(problem(res).code).toBe('validation.failed');
      expect(ran).toBe(0);
    });

    it.each(payloads)(
      'keeps Object.prototype clean for %s even with a loose schema',
      async (_case, raw) => {
        const loose = z.looseObject({ message: z.string().optional() });
        const app = jsonApp(factory);
        app.post('/t', validate({ body: loose }), (req, res) => {
          ran++;
          const body = req.body as Record<string, unknown>;
          res.json({
            protoIsObject: Object.getPrototypeOf(body) === Object.prototype,
            polluted: (body as { polluted?: unknown }).polluted ?? null,
          });
        });
        const res = await request(app).post('/t').set('Content-Type', 'application/json').send(raw);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ protoIsObject: true, polluted: null });
        expect(ran).toBe(1);
      },
    );
  });

  describe('messages never echo input', () => {
    const schema = z.strictObject({
      colour: z.enum(['red', 'blue']).optional(),
      kind: z.literal('chat').optional(),
      email: z.email().optional(),
      code: z
        .string()
        .regex(/^[a-z]{3}$/)
        .optional(),
      note: z
        .string()
        .refine((v) => v.length < 3, { error: (iss) => `bad value ${String(iss.input)}` })
        .optional(),
      token: z.literal(FAKE_SECRET.toUpperCase()).optional(),
    });

    it.each([
      ['an enum', { colour: FAKE_SECRET }],
      ['a literal', { kind: FAKE_SECRET }],
      ['an email format', { email: FAKE_SECRET }],
      ['a regex', { code: FAKE_SECRET }],
      ['a custom message that interpolates the input', { note: FAKE_SECRET }],
      ['an unknown key whose name is the secret', { [FAKE_SECRET]: 1 }],
      ['an unknown key holding the secret', { extra: FAKE_SECRET }],
    ])('for %s', async (_case, body) => {
      const { events, off } = capture();
      const res = await request(bodyApp(schema)).post('/t').send(body);
      off();
      expect(res.status).toBe(400);
      expect(res.text).not.toContain(FAKE_SECRET);
      expect(res.text).not.toContain('FAKE');
      expect(JSON.stringify(events)).not.toContain('FAKE');
      expect(ran).toBe(0);
    });

    it('does not reveal the value a literal is compared against', async () => {
      const res = await request(bodyApp(schema)).post('/t').send({ token: 'guess' });
      expect(res.status).toBe(400);
      expect(res.text).not.toContain(FAKE_SECRET.toUpperCase());
      expect(problem(res).errors).toEqual([
        {
          path: 'body.token',
          code: 'invalid_value',
          message: 'Must be one of the allowed values.',
        },
      ]);
    });
  });

  it('lists {path, code, message} for every problem and reports paths and codes only', async () => {
    const { events, off } = capture();
    const res = await request(bodyApp(Echo))
      .post('/t')
      .send({ message: '', max_tokens: '5', extra: 'x' });
    off();
    expect(problem(res).errors).toEqual([
      { path: 'body.message', code: 'too_small', message: 'Must be at least 1 character.' },
      { path: 'body.max_tokens', code: 'invalid_type', message: 'Expected a number.' },
      { path: 'body.extra', code: 'unrecognized_keys', message: 'This field is not allowed.' },
    ]);
    expect(events[0]).toMatchObject({
      type: 'validation.rejected',
      reason: 'schema_mismatch',
      parts: ['body'],
      count: 3,
      method: 'POST',
      path: '/t',
    });
  });

  it('caps the error list at 20 entries', async () => {
    const body = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${String(i)}`, i]));
    const res = await request(bodyApp(Echo))
      .post('/t')
      .send({ message: 'hi', ...body });
    expect(res.status).toBe(400);
    const p = problem(res);
    expect(p.errors).toHaveLength(20);
    expect(p.detail).toContain('100 problems');
  });

  it('reports nested paths and strict nested objects', async () => {
    const schema = z.strictObject({
      messages: z.array(
        z.strictObject({ role: z.enum(['user', 'assistant']), content: z.string() }),
      ),
    });
    const res = await request(bodyApp(schema))
      .post('/t')
      .send({
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'system', content: 'x', x: 1 },
        ],
      });
    expect(res.status).toBe(400);
    expect(problem(res).errors).toEqual([
      {
        path: 'body.messages.1.role',
        code: 'invalid_value',
        message: 'Must be one of the allowed values.',
      },
      {
        path: 'body.messages.1.x',
        code: 'unrecognized_keys',
        message: 'This field is not allowed.',
      },
    ]);
    expect(ran).toBe(0);
  });

  it('makes a top-level z.object strict and keeps its refinements', async () => {
    const schema = z
      .object({ a: z.number(), b: z.number() })
      .refine((v) => v.a < v.b, { message: 'a must be below b', path: ['a'] });
    const app = bodyApp(schema);
    const extra = await request(app).post('/t').send({ a: 1, b: 2, c: 3 });
    expect(problem(extra).errors).toEqual([
      { path: 'body.c', code: 'unrecognized_keys', message: 'This field is not allowed.' },
    ]);
    const refined = await request(app).post('/t').send({ a: 3, b: 2 });
    expect(problem(refined).errors).toEqual([
      { path: 'body.a', code: 'custom', message: 'The value is not valid.' },
    ]);
    const ok = await request(app).post('/t').send({ a: 1, b: 2 });
    expect(ok.status).toBe(200);
    expect(ran).toBe(1);
  });

  it('refuses unknown keys of a nested plain z.object (nested-strict.test.ts has the table)', async () => {
    const schema = z.object({ user: z.object({ name: z.string() }) });
    const res = await request(bodyApp(schema))
      .post('/t')
      .send({ user: { name: 'ada', role: 'admin' } });
    expect(res.status).toBe(400);
    expect(problem(res).errors).toEqual([
      expect.objectContaining({ path: 'body.user.role', code: 'unrecognized_keys' }),
    ]);
    expect(ran).toBe(0);
  });

  it('leaves z.looseObject as written', async () => {
    const res = await request(bodyApp(z.looseObject({ a: z.number() })))
      .post('/t')
      .send({ a: 1, b: 2 });
    expect(res.status).toBe(200);
    expect(res.body.body).toEqual({ a: 1, b: 2 });
  });

  it('does not coerce unless the schema opts in', async () => {
    const app = factory();
    app.get(
      '/plain',
      validate({ query: z.strictObject({ n: z.number(), flag: z.boolean() }) }),
      (_req, res) => {
        ran++;
        res.json({});
      },
    );
    app.get(
      '/coerced',
      validate({ query: z.strictObject({ n: z.coerce.number().int().max(100) }) }),
      (req, res) => {
        ran++;
        res.json({ n: req.query.n, type: typeof req.query.n });
      },
    );
    const plain = await request(app).get('/plain?n=5&flag=true');
    expect(plain.status).toBe(400);
    expect(problem(plain).errors.map((e) => [e.path, e.code])).toEqual([
      ['query.n', 'invalid_type'],
      ['query.flag', 'invalid_type'],
    ]);
    expect(ran).toBe(0);
    const coerced = await request(app).get('/coerced?n=5');
    expect(coerced.body).toEqual({ n: 5, type: 'number' });
  });

  it('replaces req.query for every later reader (Express 5 has a getter)', async () => {
    const app = factory();
    app.get(
      '/q',
      validate({ query: z.strictObject({ limit: z.coerce.number().default(10) }) }),
      (req, _res, next) => {
        (req as { seenFirst?: unknown }).seenFirst = req.query;
        next();
      },
      (req, res) => {
        ran++;
        res.json({ first: (req as { seenFirst?: unknown }).seenFirst, second: req.query });
      },
    );
    const res = await request(app).get('/q');
    expect(res.body).toEqual({ first: { limit: 10 }, second: { limit: 10 } });
    const typed = await request(app).get('/q?limit=7');
    expect(typed.body.second).toEqual({ limit: 7 });
    const extra = await request(app).get('/q?limit=7&debug=1');
    expect(extra.status).toBe(400);
    expect(problem(extra).errors).toEqual([
      { path: 'query.debug', code: 'unrecognized_keys', message: 'This field is not allowed.' },
    ]);
    expect(ran).toBe(2);
  });

  it('rejects a repeated query parameter where one value is expected', async () => {
    const app = factory();
    app.get('/q', validate({ query: z.strictObject({ id: z.string() }) }), (_req, res) => {
      ran++;
      res.json({});
    });
    const res = await request(app).get('/q?id=1&id=2');
    expect(res.status).toBe(400);
    expect(problem(res).errors[0]).toMatchObject({ path: 'query.id', code: 'invalid_type' });
    expect(ran).toBe(0);
  });

  it('validates and replaces route params', async () => {
    const app = factory();
    app.get(
      '/items/:id',
      validate({ params: z.strictObject({ id: z.string().regex(/^\d+$/).transform(Number) }) }),
      (req, res) => {
        ran++;
        res.json({ id: req.params.id, type: typeof req.params.id });
      },
    );
    const ok = await request(app).get('/items/42');
    expect(ok.body).toEqual({ id: 42, type: 'number' });
    const bad = await request(app).get('/items/4a');
    expect(bad.status).toBe(400);
    expect(problem(bad).errors).toEqual([
      {
        path: 'params.id',
        code: 'invalid_format',
        message: 'Does not match the required pattern.',
      },
    ]);
    expect(ran).toBe(1);
  });

  it('checks headers without making them strict or replacing them', async () => {
    const app = factory();
    app.get(
      '/h',
      validate({ headers: z.object({ 'x-tenant': z.string().regex(/^[a-z]{2,16}$/) }) }),
      (req, res) => {
        ran++;
        res.json({ tenant: req.headers['x-tenant'], host: typeof req.headers.host });
      },
    );
    const ok = await request(app).get('/h').set('X-Tenant', 'acme').set('X-Other', '1');
    expect(ok.body).toEqual({ tenant: 'acme', host: 'string' });
    const missing = await request(app).get('/h');
    expect(missing.status).toBe(400);
    expect(problem(missing).errors).toEqual([
      { path: 'headers.x-tenant', code: 'invalid_type', message: 'Expected a string.' },
    ]);
    expect(ran).toBe(1);
  });

  it('lists the problems of every part in one response', async () => {
    const app = jsonApp(factory);
    app.post(
      '/p/:id',
      validate({
        params: z.strictObject({ id: z.uuid() }),
        query: z.strictObject({}),
        body: z.strictObject({ a: z.string() }),
      }),
      (_req, res) => {
        ran++;
        res.json({});
      },
    );
    const { events, off } = capture();
    const res = await request(app).post('/p/nope?x=1').send({ a: 1 });
    off();
    expect(problem(res).errors.map((e) => e.path)).toEqual(['params.id', 'query.x', 'body.a']);
    expect(events[0]?.parts).toEqual(['params', 'query', 'body']);
    expect(ran).toBe(0);
  });

  it('answers 400 when no body parser ran', async () => {
    const app = factory();
    app.post('/t', validate({ body: Echo }), (_req, res) => {
      ran++;
      res.json({});
    });
    const res = await request(app).post('/t').send({ message: 'hi' });
    expect(res.status).toBe(400);
    expect(problem(res).errors).toEqual([
      { path: 'body', code: 'invalid_type', message: 'Expected an object.' },
    ]);
    expect(ran).toBe(0);
  });

  describe('10,000-deep nesting', () => {
    function deepApp(schema: z.ZodType) {
      const app = factory();
      app.use(factory.json({ limit: '1mb' }));
      app.post('/t', validate({ body: schema }), (_req, res) => {
        ran++;
        res.json({});
      });
      app.use(errorHandler({ env: 'production' }));
      return app;
    }
    type Tree = { a?: Tree | number };
    const Tree: z.ZodType<Tree> = z.lazy(() =>
      z.strictObject({ a: z.union([Tree, z.number()]).optional() }),
    );

    it.each([
      ['objects against a flat schema', Echo, deepObject(10_000), 'unrecognized_keys'],
      [
        'arrays against a flat schema',
        Echo,
        '['.repeat(10_000) + ']'.repeat(10_000),
        'invalid_type',
      ],
      ['objects against a recursive schema', Tree, deepObject(10_000), 'too_deep'],
    ])('rejects %s without crashing', async (_case, schema, raw, code) => {
      const { events, off } = capture();
      const res = await request(deepApp(schema))
        .post('/t')
        .set('Content-Type', 'application/json')
        .send(raw);
      off();
      expect(res.status).toBe(400);
      expect(problem(res).code).toBe('validation.failed');
      expect(problem(res).errors.map((e) => e.code)).toContain(code);
      expect(events).toHaveLength(1);
      expect(ran).toBe(0);
    });

    it('still serves the next request', async () => {
      const app = deepApp(Tree);
      await request(app)
        .post('/t')
        .set('Content-Type', 'application/json')
        .send(deepObject(10_000));
      const res = await request(app)
        .post('/t')
        .send({ a: { a: 1 } });
      expect(res.status).toBe(200);
      expect(ran).toBe(1);
    });
  });

  it('supports async refinements', async () => {
    const schema = z.strictObject({
      name: z.string().refine(async (v) => {
        await Promise.resolve();
        return v !== 'taken';
      }),
    });
    const app = bodyApp(schema);
    const ok = await request(app).post('/t').send({ name: 'free' });
    expect(ok.status).toBe(200);
    const taken = await request(app).post('/t').send({ name: 'taken' });
    expect(taken.status).toBe(400);
    expect(problem(taken).errors).toEqual([
      { path: 'body.name', code: 'custom', message: 'The value is not valid.' },
    ]);
    expect(ran).toBe(1);
  });

  it('passes an error thrown by a transform to the error handler, not the route', async () => {
    const schema = z.strictObject({
      a: z.string().transform(() => {
        throw new Error('transform broke on FAKE input');
      }),
    });
    const res = await request(bodyApp(schema)).post('/t').send({ a: 'x' });
    expect(res.status).toBe(500);
    expect(res.text).not.toContain('FAKE');
    expect(ran).toBe(0);
  });

  it('accepts zod mini schemas and makes their top-level object strict', async () => {
    const app = jsonApp(factory);
    app.post('/t', validate({ body: zm.object({ a: zm.number() }) }), (req, res) => {
      ran++;
      res.json(req.body);
    });
    expect((await request(app).post('/t').send({ a: 1 })).body).toEqual({ a: 1 });
    const extra = await request(app).post('/t').send({ a: 1, b: 2 });
    expect(extra.status).toBe(400);
    expect(problem(extra).errors[0]?.path).toBe('body.b');
    expect(ran).toBe(1);
  });
});

describe('validate types', () => {
  it('gives the handler the schemas’ output types', () => {
    const app = jsonApp(EXPRESS_VERSIONS[0][1]);
    app.post(
      '/v1/echo/:id',
      validate({
        body: Echo,
        query: z.strictObject({ verbose: z.stringbool().optional() }),
        params: z.strictObject({ id: z.string().transform(Number) }),
      }),
      (req, res) => {
        expectTypeOf(req.body).toEqualTypeOf<{
          message: string;
          max_tokens?: number | undefined;
          temperature?: number | undefined;
        }>();
        expectTypeOf(req.query).toEqualTypeOf<{ verbose?: boolean | undefined }>();
        expectTypeOf(req.params).toEqualTypeOf<{ id: number }>();
        res.json({});
      },
    );
    app.post('/raw', validate({ headers: z.object({ 'x-a': z.string() }) }), (req, res) => {
      expectTypeOf(req.body).toBeUnknown();
      res.json({});
    });
    expect(app).toBeTypeOf('function');
  });
});

describe('validate options', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'body'],
    ['an array', [Echo]],
    ['no schema at all', {}],
    ['a plain object as a schema', { body: { message: 'string' } }],
    ['a string as a schema', { body: 'Echo' }],
    ['null as a schema', { body: null }],
    ['a number as a schema', { query: 5 }],
    ['an unknown part', { bdy: Echo }],
    ['cookies (not a part)', { body: Echo, cookies: Echo }],
  ])('refuses %s', (_case, schemas) => {
    expect(() => validate(schemas as never)).toThrow(BulwarkConfigError);
  });

  it('lists every problem at once', () => {
    try {
      validate({ body: 'x', bdy: Echo, query: 1 } as never);
      expect.unreachable();
    } catch (error) {
      expect((error as BulwarkConfigError).problems).toHaveLength(3);
    }
  });
});
