import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import * as zm from 'zod/mini';
import { errorHandler, securityEvents, validate, type SecurityEvent } from '../../src/index.js';
import { EXPRESS_VERSIONS, jsonApp } from '../helpers/express.js';

interface Tree {
  name: string;
  children: Tree[];
}
const TreeNode: z.ZodType<Tree> = z.object({
  name: z.string(),
  get children() {
    return z.array(TreeNode);
  },
});
const LazyNode: z.ZodType<Tree> = z.lazy(() =>
  z.object({ name: z.string(), children: z.array(LazyNode) }),
);

const User = z.object({ name: z.string() });

// Each row: a schema, a body with one unknown key somewhere inside, the path
// reported, and a body without it that passes.
const REFUSED: readonly [string, z.ZodType, unknown, string, unknown][] = [
  [
    'an object in an object',
    z.object({ user: User }),
    { user: { name: 'a', role: 'admin' } },
    'user',
    { user: { name: 'a' } },
  ],
  [
    'three levels down',
    z.object({ a: z.object({ b: z.object({ c: z.number() }) }) }),
    { a: { b: { c: 1, role: 'admin' } } },
    'a.b',
    { a: { b: { c: 1 } } },
  ],
  [
    'an object in an array',
    z.object({ users: z.array(User) }),
    { users: [{ name: 'a' }, { name: 'b', role: 'admin' }] },
    'users.1',
    { users: [{ name: 'a' }] },
  ],
  [
    'an array of objects at the top',
    z.array(User),
    [{ name: 'a', role: 'admin' }],
    '0',
    [{ name: 'a' }],
  ],
  [
    'a union member',
    z.object({ v: z.union([User, z.object({ id: z.number() })]) }),
    { v: { id: 1, role: 'admin' } },
    'v',
    { v: { id: 1 } },
  ],
  [
    'a discriminated union member',
    z.object({
      v: z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('a'), x: z.number() }),
        z.object({ kind: z.literal('b') }),
      ]),
    }),
    { v: { kind: 'a', x: 1, role: 'admin' } },
    'v',
    { v: { kind: 'a', x: 1 } },
  ],
  [
    'a record value',
    z.object({ byId: z.record(z.string(), User) }),
    { byId: { u1: { name: 'a', role: 'admin' } } },
    'byId.u1',
    { byId: { u1: { name: 'a' } } },
  ],
  [
    'an optional object',
    z.object({ user: User.optional() }),
    { user: { name: 'a', role: 'admin' } },
    'user',
    {},
  ],
  [
    'a nullable object',
    z.object({ user: User.nullable() }),
    { user: { name: 'a', role: 'admin' } },
    'user',
    { user: null },
  ],
  [
    'an object with a default',
    z.object({ opts: z.object({ n: z.number() }).default({ n: 1 }) }),
    { opts: { n: 2, role: 'admin' } },
    'opts',
    {},
  ],
  [
    'a tuple item',
    z.object({ pair: z.tuple([z.string(), User]) }),
    { pair: ['x', { name: 'a', role: 'admin' }] },
    'pair.1',
    { pair: ['x', { name: 'a' }] },
  ],
  [
    'a refined object',
    z.object({ user: User.refine((u) => u.name !== '') }),
    { user: { name: 'a', role: 'admin' } },
    'user',
    { user: { name: 'a' } },
  ],
  [
    'an object behind a transform',
    z.object({ user: User.transform((u) => ({ ...u, seen: true })) }),
    { user: { name: 'a', role: 'admin' } },
    'user',
    { user: { name: 'a' } },
  ],
  [
    'an object behind preprocess',
    z.object({ user: z.preprocess((v) => v, User) }),
    { user: { name: 'a', role: 'admin' } },
    'user',
    { user: { name: 'a' } },
  ],
  [
    'a member of an intersection',
    z.object({
      v: z.intersection(z.object({ a: z.object({ x: z.number() }) }), z.object({ b: z.number() })),
    }),
    { v: { a: { x: 1, role: 'admin' }, b: 1 } },
    'v.a',
    { v: { a: { x: 1 }, b: 1 } },
  ],
  [
    'a recursive schema (getter)',
    TreeNode,
    { name: 'r', children: [{ name: 'c', children: [], role: 'admin' }] },
    'children.0',
    { name: 'r', children: [{ name: 'c', children: [] }] },
  ],
  [
    'a recursive schema (z.lazy)',
    LazyNode,
    { name: 'r', children: [{ name: 'c', children: [], role: 'admin' }] },
    'children.0',
    { name: 'r', children: [] },
  ],
  [
    'a zod/mini object',
    zm.object({ user: zm.object({ name: zm.string() }) }) as unknown as z.ZodType,
    { user: { name: 'a', role: 'admin' } },
    'user',
    { user: { name: 'a' } },
  ],
];

// Schemas that chose their mode keep it, at any depth. `.passthrough()` is
// deprecated in zod 4 but still used, so it is checked too.
const KEPT: readonly [string, z.ZodType, unknown, unknown][] = [
  [
    'z.looseObject',
    z.object({ meta: z.looseObject({ a: z.number() }) }),
    { meta: { a: 1, extra: 2 } },
    { meta: { a: 1, extra: 2 } },
  ],
  [
    '.passthrough()',
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- still common in zod 3 code being ported
    z.object({ meta: z.object({ a: z.number() }).passthrough() }),
    { meta: { a: 1, extra: 2 } },
    { meta: { a: 1, extra: 2 } },
  ],
  [
    '.loose()',
    z.object({ meta: z.object({ a: z.number() }).loose() }),
    { meta: { a: 1, extra: 2 } },
    { meta: { a: 1, extra: 2 } },
  ],
  [
    '.catchall()',
    z.object({ meta: z.object({ a: z.number() }).catchall(z.number()) }),
    { meta: { a: 1, extra: 2 } },
    { meta: { a: 1, extra: 2 } },
  ],
  [
    'an explicit .strip()',
    z.object({ meta: z.object({ a: z.number() }).strip() }),
    { meta: { a: 1, extra: 2 } },
    { meta: { a: 1 } },
  ],
  [
    'an explicit .strip() at the top',
    z.object({ a: z.number() }).strip(),
    { a: 1, extra: 2 },
    { a: 1 },
  ],
  [
    'z.record of anything',
    z.object({ tags: z.record(z.string(), z.string()) }),
    { tags: { any: 'x' } },
    { tags: { any: 'x' } },
  ],
  [
    'the two sides of an intersection',
    z.intersection(z.object({ a: z.number() }), z.object({ b: z.number() })),
    { a: 1, b: 2 },
    { a: 1, b: 2 },
  ],
];

describe.each(EXPRESS_VERSIONS)('nested strictness on %s', (_name, factory) => {
  let ran: number;
  let events: SecurityEvent[];
  let off: () => void;
  beforeEach(() => {
    ran = 0;
    events = [];
    off = securityEvents.on('validation.rejected', (e) => events.push(e));
  });
  afterEach(() => {
    off();
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

  it.each(REFUSED)('refuses an unknown key in %s', async (_case, schema, bad, path, good) => {
    const app = bodyApp(schema);
    const res = await request(app)
      .post('/t')
      .send(bad as object);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 400, code: 'validation.failed' });
    expect(res.body.errors).toContainEqual(
      expect.objectContaining({ path: `body.${path}.role`, code: 'unrecognized_keys' }),
    );
    expect(res.text).not.toContain('admin');
    expect(ran).toBe(0);
    expect(events).toHaveLength(1);
    const ok = await request(app)
      .post('/t')
      .send(good as object);
    expect(ok.status).toBe(200);
    expect(ran).toBe(1);
  });

  it.each(KEPT)('keeps the mode of %s', async (_case, schema, body, parsed) => {
    const res = await request(bodyApp(schema))
      .post('/t')
      .send(body as object);
    expect(res.status).toBe(200);
    expect(res.body.body).toEqual(parsed);
    expect(ran).toBe(1);
  });

  it('checks the query string nested objects too (Express 4 qs brackets)', async () => {
    const app = factory();
    app.get(
      '/q',
      validate({ query: z.object({ f: z.object({ a: z.string() }).optional() }) }),
      (_req, res) => {
        ran++;
        res.json({});
      },
    );
    app.use(errorHandler({ env: 'production' }));
    const res = await request(app).get('/q?f[a]=1&f[b]=2');
    expect(res.status).toBe(400);
    expect(ran).toBe(0);
  });
});
