import bcrypt from 'bcryptjs';
import { createHash, createHmac } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import request from 'supertest';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type * as Passwords from '../../src/auth/passwords.js';
import { verifyPasswordOrDummy } from '../../src/auth/passwords.js';
import {
  authRouter,
  bodyLimits,
  BulwarkConfigError,
  createPasswordQueue,
  errorHandler,
  hashPassword,
  jwtAuth,
  loginRateLimit,
  verifyPassword,
} from '../../src/index.js';
import type {
  AuthRouterOptions,
  AuthStore,
  TokenPair,
  TokenService,
  UserAdapter,
  UserRecord,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express.js';
import { sharedPrefixes } from '../helpers/redis-targets.js';
import { collect, hsTokens, interceptStore, storeKinds } from './helpers.js';
import { captureWarnings } from '../helpers/warnings.js';

// A spy around the real function: the login timing property is checked by what
// the router asks bcrypt to do, not by a clock.
vi.mock('../../src/auth/passwords.js', async (importOriginal) => {
  const actual: typeof Passwords = await importOriginal();
  return { ...actual, verifyPasswordOrDummy: vi.fn(actual.verifyPasswordOrDummy) };
});
const verifySpy = vi.mocked(verifyPasswordOrDummy);
// What is checked here is the router, not bcrypt: hashes name their real cost, the work is cost 4.
vi.mock('bcryptjs', async (importOriginal) =>
  (await import('../helpers/fast-bcrypt.js')).fastBcrypt(await importOriginal()),
);

const COST = 10;
const PASSWORD = 'correct-horse-TEST-password-1';
const BOB_PASSWORD = 'bob-TEST-password-2';
// Exactly 72 UTF-8 bytes: the longest password bcrypt reads in full.
const LONG_PASSWORD = `test-${'x'.repeat(67)}`;
const LEGACY_PASSWORD = 'legacy-TEST-password-3';

const HASHES = {
  alice: await hashPassword(PASSWORD, { cost: COST }),
  bob: await hashPassword(BOB_PASSWORD, { cost: COST }),
  long: await hashPassword(LONG_PASSWORD, { cost: COST }),
  // Made before the cost was raised: still verifies, and is replaced at the next login.
  legacy: bcrypt.hashSync(LEGACY_PASSWORD, 4),
};

const { kinds, close, redis } = await storeKinds();
afterAll(close);
const prefixFor = sharedPrefixes();

/** An in-memory user table with the adapter the router reads. */
function userTable() {
  const rows = new Map<string, UserRecord>([
    ['alice', { id: 'u-alice', username: 'alice', passwordHash: HASHES.alice, roles: ['user'] }],
    ['bob', { id: 'u-bob', username: 'bob', passwordHash: HASHES.bob, roles: ['admin'] }],
    ['long', { id: 'u-long', username: 'long', passwordHash: HASHES.long, roles: [] }],
    ['legacy', { id: 'u-legacy', username: 'legacy', passwordHash: HASHES.legacy, roles: [] }],
  ]);
  const lookups: string[] = [];
  const rehashed: [string, string][] = [];
  const adapter: UserAdapter & Required<Pick<UserAdapter, 'updatePasswordHash'>> = {
    findByUsername(username) {
      lookups.push(username);
      return Promise.resolve(rows.get(username));
    },
    findById(id) {
      return Promise.resolve([...rows.values()].find((u) => u.id === id));
    },
    updatePasswordHash(id, passwordHash) {
      rehashed.push([id, passwordHash]);
      const row = [...rows.values()].find((u) => u.id === id);
      if (row !== undefined) row.passwordHash = passwordHash;
      return Promise.resolve();
    },
  };
  return { rows, adapter, lookups, rehashed };
}

type BodySetup = 'router' | 'express.json()' | 'bodyLimits()';

interface BuildOptions {
  body?: BodySetup;
  router?: Partial<AuthRouterOptions>;
  store?: AuthStore;
}

/** A service that counts what it hands out, so "no token was issued" is checked directly. */
function countingTokens(inner: TokenService) {
  const counts = { issue: 0, refresh: 0, revoke: 0 };
  const tokens: TokenService = {
    ...inner,
    issue: (subject) => {
      counts.issue++;
      return inner.issue(subject);
    },
    refresh: (token, req) => {
      counts.refresh++;
      return inner.refresh(token, req);
    },
    revoke: (access, refresh) => {
      counts.revoke++;
      return inner.revoke(access, refresh);
    },
  };
  return { tokens, counts };
}

function build(factory: ExpressFactory, makeStore: () => AuthStore, options: BuildOptions = {}) {
  const { tokens, counts } = countingTokens(hsTokens(options.store ?? makeStore()));
  const users = userTable();
  const app = factory();
  if (options.body === 'express.json()') app.use(factory.json());
  if (options.body === 'bodyLimits()') app.use(bodyLimits());
  app.use(
    '/auth',
    authRouter({ tokens, users: users.adapter, passwordHashCost: COST, ...options.router }),
  );
  let meRan = 0;
  app.get('/me', jwtAuth({ tokens }), (req: Request, res: Response) => {
    meRan++;
    res.json(req.auth);
  });
  app.use(errorHandler());
  return { app, agent: request(app), tokens, counts, users, meRan: () => meRan };
}

type Built = ReturnType<typeof build>;

async function loginPair(built: Built, username = 'alice', password = PASSWORD) {
  const res = await built.agent.post('/auth/login').send({ username, password });
  expect(res.status).toBe(200);
  return res.body as TokenPair;
}

beforeEach(() => {
  verifySpy.mockClear();
});

describe.each(EXPRESS_VERSIONS)('authRouter on %s', (_label, factory) => {
  describe.each(kinds)('with a %s store', (storeLabel, makeStore) => {
    // The Redis kind also counts login attempts in Redis, as several processes
    // would: with one username key, as they must share.
    const limiter = (): Partial<AuthRouterOptions> =>
      storeLabel === 'redis' && redis !== undefined
        ? {
            loginLimiter: loginRateLimit({
              store: redis,
              prefix: prefixFor('router-login'),
              usernameKey: 'test-FAKE-username-key-0123456789abcdef',
            }),
          }
        : {};
    const make = (options: BuildOptions = {}) =>
      build(factory, makeStore, { ...options, router: { ...limiter(), ...options.router } });

    describe('POST /login', () => {
      it('answers a token pair that is not cached and works on a jwtAuth route', async () => {
        const built = make();
        const res = await built.agent
          .post('/auth/login')
          .send({ username: 'alice', password: PASSWORD });
        expect(res.status).toBe(200);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
        expect(Object.keys(res.body as object).sort()).toEqual([
          'access_token',
          'expires_in',
          'refresh_token',
          'token_type',
        ]);
        const me = await built.agent
          .get('/me')
          .set('Authorization', `Bearer ${(res.body as TokenPair).access_token}`);
        expect(me.status).toBe(200);
        expect(me.body).toMatchObject({ sub: 'u-alice', roles: ['user'] });
        expect(built.counts.issue).toBe(1);
      });

      it.each([
        ['a wrong password', 'alice', 'wrong-TEST-password'],
        ['an unknown user', 'nobody', PASSWORD],
        ['a password over 72 bytes for an unknown user', 'nobody', `${LONG_PASSWORD}!`],
        // bcrypt alone would compare the first 72 bytes and say yes.
        ['the real 72-byte password with more after it', 'long', `${LONG_PASSWORD}extra`],
        ['a password over 72 bytes of 2-byte letters', 'alice', 'é'.repeat(40)],
        ['the username with different case', 'ALICE', PASSWORD],
      ])(
        'answers %s with 401 auth.invalid_credentials and a challenge',
        async (_case, username, password) => {
          const built = make();
          const failed = collect('auth.failed');
          const res = await built.agent.post('/auth/login').send({ username, password });
          failed.stop();
          expect(res.status).toBe(401);
          expect(res.body.code).toBe('auth.invalid_credentials');
          expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(res.body).not.toHaveProperty('access_token');
          expect(built.counts.issue).toBe(0);
          expect(failed.events).toHaveLength(1);
          expect(JSON.stringify(failed.events)).not.toContain(password);
        },
      );

      it('runs the same password check for unknown users as for wrong passwords', async () => {
        const built = make();
        await built.agent.post('/auth/login').send({ username: 'nobody', password: 'guess-test' });
        await built.agent.post('/auth/login').send({ username: 'alice', password: 'guess-test' });
        expect(built.users.lookups).toEqual(['nobody', 'alice']);
        expect(verifySpy.mock.calls).toEqual([
          ['guess-test', undefined, expect.objectContaining({ cost: COST })],
          ['guess-test', HASHES.alice, expect.objectContaining({ cost: COST })],
        ]);
        // Both answers are the same bytes: nothing tells the two apart.
        const unknown = await built.agent
          .post('/auth/login')
          .send({ username: 'nobody2', password: 'guess-test' });
        const wrong = await built.agent
          .post('/auth/login')
          .send({ username: 'bob', password: 'guess-test' });
        expect(unknown.text).toBe(wrong.text);
        expect(unknown.headers['www-authenticate']).toBe(wrong.headers['www-authenticate']);
      });

      it('treats an adapter answering null like an unknown user', async () => {
        const built = make();
        built.users.adapter.findByUsername = () => Promise.resolve(null);
        const res = await built.agent
          .post('/auth/login')
          .send({ username: 'alice', password: PASSWORD });
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('auth.invalid_credentials');
        expect(verifySpy.mock.calls).toEqual([
          [PASSWORD, undefined, expect.objectContaining({ cost: COST })],
        ]);
      });

      it('reports failures without the password, and unknown usernames only as a digest', async () => {
        const built = make();
        const failed = collect('auth.failed');
        await built.agent
          .post('/auth/login')
          .send({ username: 'typed-my-TEST-password-here', password: 'pw-test-1' });
        await built.agent.post('/auth/login').send({ username: 'alice', password: 'pw-test-2' });
        failed.stop();
        expect(failed.events.map((e) => e.reason)).toEqual(['unknown_user', 'wrong_password']);
        expect(failed.events[0]).toMatchObject({
          usernameHash: expect.stringMatching(/^[0-9a-f]{16}$/),
        });
        expect(failed.events[1]).toMatchObject({ sub: 'u-alice' });
        // Keyed: a plain SHA-256 of a guessed username does not find it.
        const plain = createHash('sha256').update('typed-my-TEST-password-here').digest('hex');
        expect(failed.events[0]!.usernameHash).not.toBe(plain.slice(0, 16));
        const text = JSON.stringify(failed.events);
        expect(text).not.toContain('typed-my-TEST-password-here');
        expect(text).not.toContain('pw-test');
      });

      it.each<[string, unknown]>([
        ['an extra key', { username: 'alice', password: PASSWORD, roles: ['admin'] }],
        ['a numeric username', { username: 12345, password: PASSWORD }],
        ['a numeric password', { username: 'alice', password: 12345 }],
        ['a null password', { username: 'alice', password: null }],
        ['a boolean password', { username: 'alice', password: true }],
        ['a missing username', { password: PASSWORD }],
        ['a missing password', { username: 'alice' }],
        ['an empty object', {}],
        ['an empty username', { username: '', password: PASSWORD }],
        ['an empty password', { username: 'alice', password: '' }],
        ['an array username', { username: ['alice'], password: PASSWORD }],
        ['an array password', { username: 'alice', password: [PASSWORD] }],
        ['an operator object', { username: { $ne: '' }, password: { $ne: '' } }],
        ['a huge username', { username: 'a'.repeat(2000), password: PASSWORD }],
        ['a huge password', { username: 'alice', password: 'p'.repeat(2000) }],
        ['an array body', ['alice', PASSWORD]],
        ['a string body', 'alice'],
      ])('refuses %s with 400 validation.failed', async (_case, body) => {
        const built = make();
        const res = await built.agent
          .post('/auth/login')
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('validation.failed');
        expect(res.body).not.toHaveProperty('access_token');
        expect(built.counts.issue).toBe(0);
        expect(built.users.lookups).toEqual([]);
        expect(verifySpy).not.toHaveBeenCalled();
      });

      it.each([
        [
          'a body over 4 KiB',
          'application/json',
          JSON.stringify({ username: 'alice', password: 'p'.repeat(5000) }),
          413,
          'request.too_large',
        ],
        [
          'a form body',
          'text/plain',
          'username=alice&password=x',
          415,
          'request.unsupported_media_type',
        ],
        ['broken JSON', 'application/json', '{"username":"alice",', 400, 'request.invalid_json'],
        [
          'a __proto__ key',
          'application/json',
          '{"username":"alice","password":"x","__proto__":{"a":1}}',
          400,
          'request.forbidden_key',
        ],
        [
          'a deep body',
          'application/json',
          `{"username":${'['.repeat(50)}${']'.repeat(50)}}`,
          400,
          'request.too_deep',
        ],
      ])(
        'refuses %s with %i %s before looking anyone up',
        async (_case, type, payload, status, code) => {
          const built = make();
          const res = await built.agent.post('/auth/login').set('Content-Type', type).send(payload);
          expect(res.status).toBe(status);
          expect(res.body.code).toBe(code);
          expect(built.counts.issue).toBe(0);
          expect(built.users.lookups).toEqual([]);
        },
      );

      it('answers 429 after 5 failed logins for one username from one IP; another username still works', async () => {
        const built = make();
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++) {
          statuses.push(
            (
              await built.agent
                .post('/auth/login')
                .send({ username: 'alice', password: `bad-test-${i}` })
            ).status,
          );
        }
        expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
        verifySpy.mockClear();
        const locked = await built.agent
          .post('/auth/login')
          .send({ username: 'alice', password: PASSWORD });
        expect(locked.status).toBe(429);
        expect(locked.body.code).toBe('rate_limit.exceeded');
        expect(locked.headers['retry-after']).toMatch(/^\d+$/);
        expect(locked.body).not.toHaveProperty('access_token');
        expect(verifySpy).not.toHaveBeenCalled();
        expect(built.counts.issue).toBe(0);
        const other = await built.agent
          .post('/auth/login')
          .send({ username: 'bob', password: BOB_PASSWORD });
        expect(other.status).toBe(200);
        expect(built.counts.issue).toBe(1);
      });

      it('does not count successful logins toward the limit', async () => {
        const built = make();
        for (let i = 0; i < 7; i++) await loginPair(built);
        expect(built.counts.issue).toBe(7);
      });

      it('rehashes a hash of another cost after a successful login', async () => {
        const built = make();
        await loginPair(built, 'legacy', LEGACY_PASSWORD);
        expect(built.users.rehashed).toHaveLength(1);
        const [id, hash] = built.users.rehashed[0]!;
        expect(id).toBe('u-legacy');
        expect(hash).toMatch(/^\$2b\$10\$/);
        expect(await verifyPassword(LEGACY_PASSWORD, hash)).toBe(true);
        await loginPair(built, 'legacy', LEGACY_PASSWORD);
        await loginPair(built, 'alice');
        expect(built.users.rehashed).toHaveLength(1);
      });

      it('still logs in when storing the new hash fails', async () => {
        const built = make();
        built.users.adapter.updatePasswordHash = () => Promise.reject(new Error('db down'));
        const warnings = captureWarnings();
        const pair = await loginPair(built, 'legacy', LEGACY_PASSWORD);
        expect(pair.token_type).toBe('Bearer');
        warnings.expectOnce('BULWARK_PASSWORD_REHASH_FAILED');
      });

      it('answers a malformed user record with a bare 500 and no token', async () => {
        const built = make();
        built.users.adapter.findByUsername = () =>
          Promise.resolve({ id: 7, passwordHash: HASHES.alice } as unknown as UserRecord);
        const res = await built.agent
          .post('/auth/login')
          .send({ username: 'alice', password: PASSWORD });
        expect(res.status).toBe(500);
        expect(res.body).not.toHaveProperty('access_token');
        expect(built.counts.issue).toBe(0);
      });

      it('answers 503 auth.unavailable when the store cannot start the session', async () => {
        const broken = interceptStore(makeStore(), (method, _args, call) =>
          method === 'createRefreshFamily' ? Promise.reject(new Error('store down')) : call(),
        );
        const built = make({ store: broken });
        const res = await built.agent
          .post('/auth/login')
          .send({ username: 'alice', password: PASSWORD });
        expect(res.status).toBe(503);
        expect(res.body.code).toBe('auth.unavailable');
        expect(res.body).not.toHaveProperty('access_token');
      });
    });

    describe('POST /refresh', () => {
      it('rotates: a new pair, the old refresh token spent', async () => {
        const built = make();
        const first = await loginPair(built);
        const res = await built.agent
          .post('/auth/refresh')
          .send({ refresh_token: first.refresh_token });
        expect(res.status).toBe(200);
        expect(res.headers['cache-control']).toBe('no-store');
        const second = res.body as TokenPair;
        expect(second.token_type).toBe('Bearer');
        expect(second.refresh_token).not.toBe(first.refresh_token);
        expect(second.access_token).not.toBe(first.access_token);
        const me = await built.agent
          .get('/me')
          .set('Authorization', `Bearer ${second.access_token}`);
        expect(me.body).toMatchObject({ sub: 'u-alice', roles: ['user'] });
        const third = await built.agent
          .post('/auth/refresh')
          .send({ refresh_token: second.refresh_token });
        expect(third.status).toBe(200);
      });

      it('answers reuse of a spent token with 401 auth.refresh_reused and revokes the family', async () => {
        const built = make();
        const first = await loginPair(built);
        const second = (
          await built.agent.post('/auth/refresh').send({ refresh_token: first.refresh_token })
        ).body as TokenPair;
        const reused = collect('auth.refresh_reused');
        const replay = await built.agent
          .post('/auth/refresh')
          .send({ refresh_token: first.refresh_token });
        reused.stop();
        expect(replay.status).toBe(401);
        expect(replay.body.code).toBe('auth.refresh_reused');
        expect(replay.headers['www-authenticate']).toBe(
          'Bearer realm="api", error="invalid_token"',
        );
        expect(replay.body).not.toHaveProperty('access_token');
        expect(reused.events).toHaveLength(1);
        expect(reused.events[0]).toMatchObject({ sub: 'u-alice' });
        // The newest token of the family is refused too: the thief's copy and the user's both end.
        const newest = await built.agent
          .post('/auth/refresh')
          .send({ refresh_token: second.refresh_token });
        expect(newest.status).toBe(401);
        expect(newest.body.code).toBe('auth.token_revoked');
        // So is every access token of the session, old and new, on every route.
        const before = built.meRan();
        for (const token of [first.access_token, second.access_token]) {
          const me = await built.agent.get('/me').set('Authorization', `Bearer ${token}`);
          expect(me.status).toBe(401);
          expect(me.body.code).toBe('auth.token_revoked');
        }
        expect(built.meRan()).toBe(before);
      });

      it.each([
        ['an unknown token', `${'B'.repeat(22)}.${'A'.repeat(43)}`],
        ['a token of the old shape', 'A'.repeat(43)],
        ['a malformed token', 'not-a-refresh-token'],
        ['an access token', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
      ])('answers %s with 401 auth.invalid_token', async (_case, token) => {
        const built = make();
        const res = await built.agent.post('/auth/refresh').send({ refresh_token: token });
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('auth.invalid_token');
        expect(res.body).not.toHaveProperty('access_token');
      });

      it.each<[string, unknown]>([
        ['a missing token', {}],
        ['a numeric token', { refresh_token: 42 }],
        ['an array token', { refresh_token: ['A'.repeat(43)] }],
        ['an extra key', { refresh_token: 'A'.repeat(43), sub: 'u-bob' }],
        ['a huge token', { refresh_token: 'A'.repeat(2000) }],
      ])('refuses %s with 400 validation.failed', async (_case, body) => {
        const built = make();
        const res = await built.agent.post('/auth/refresh').send(body as object);
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('validation.failed');
        expect(built.counts.refresh).toBe(0);
      });

      it.each([
        [
          'the user was deleted',
          'user_not_found',
          (rows: Map<string, UserRecord>) => rows.delete('alice'),
        ],
        [
          'the user lost a role',
          'roles_changed',
          (rows: Map<string, UserRecord>) => {
            rows.get('alice')!.roles = [];
          },
        ],
        [
          'the user gained a role',
          'roles_changed',
          (rows: Map<string, UserRecord>) => {
            rows.get('alice')!.roles = ['user', 'admin'];
          },
        ],
      ])('ends the session with 401 auth.token_revoked when %s', async (_case, reason, change) => {
        const built = make();
        const first = await loginPair(built);
        change(built.users.rows);
        const failed = collect('auth.failed');
        const res = await built.agent
          .post('/auth/refresh')
          .send({ refresh_token: first.refresh_token });
        failed.stop();
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('auth.token_revoked');
        expect(res.body).not.toHaveProperty('access_token');
        expect(failed.events.map((e) => e.reason)).toEqual([reason]);
      });
    });

    describe('POST /logout', () => {
      it('revokes the access and refresh tokens', async () => {
        const built = make();
        const pair = await loginPair(built);
        const res = await built.agent
          .post('/auth/logout')
          .set('Authorization', `Bearer ${pair.access_token}`)
          .send({ refresh_token: pair.refresh_token });
        expect(res.status).toBe(204);
        expect(res.text).toBe('');
        const before = built.meRan();
        const me = await built.agent.get('/me').set('Authorization', `Bearer ${pair.access_token}`);
        expect(me.status).toBe(401);
        expect(me.body.code).toBe('auth.token_revoked');
        expect(built.meRan()).toBe(before);
        const refreshed = await built.agent
          .post('/auth/refresh')
          .send({ refresh_token: pair.refresh_token });
        expect(refreshed.status).toBe(401);
        expect(refreshed.body.code).toBe('auth.token_revoked');
      });

      it('accepts no body and then refuses the access token', async () => {
        const built = make();
        const pair = await loginPair(built);
        const res = await built.agent
          .post('/auth/logout')
          .set('Authorization', `Bearer ${pair.access_token}`);
        expect(res.status).toBe(204);
        const me = await built.agent.get('/me').set('Authorization', `Bearer ${pair.access_token}`);
        expect(me.status).toBe(401);
        expect(me.body.code).toBe('auth.token_revoked');
      });

      it.each([
        ['no Authorization header', undefined, 'auth.missing_credentials', 'Bearer realm="api"'],
        [
          'a garbage token',
          'Bearer abc.def.ghi',
          'auth.invalid_token',
          'Bearer realm="api", error="invalid_token"',
        ],
        [
          'another scheme',
          'Basic YWxpY2U6dGVzdA==',
          'auth.invalid_token',
          'Bearer realm="api", error="invalid_token"',
        ],
      ])('answers %s with 401 and revokes nothing', async (_case, header, code, challenge) => {
        const built = make();
        const pair = await loginPair(built);
        const call = built.agent.post('/auth/logout');
        if (header !== undefined) call.set('Authorization', header);
        const res = await call.send({ refresh_token: pair.refresh_token });
        expect(res.status).toBe(401);
        expect(res.body.code).toBe(code);
        expect(res.headers['www-authenticate']).toBe(challenge);
        expect(built.counts.revoke).toBe(0);
        const refreshed = await built.agent
          .post('/auth/refresh')
          .send({ refresh_token: pair.refresh_token });
        expect(refreshed.status).toBe(200);
      });

      it('ends every access token of the session with only the bearer', async () => {
        const built = make();
        const first = await loginPair(built);
        const second = (
          await built.agent.post('/auth/refresh').send({ refresh_token: first.refresh_token })
        ).body as TokenPair;
        const res = await built.agent
          .post('/auth/logout')
          .set('Authorization', `Bearer ${second.access_token}`);
        expect(res.status).toBe(204);
        const before = built.meRan();
        for (const token of [first.access_token, second.access_token]) {
          const me = await built.agent.get('/me').set('Authorization', `Bearer ${token}`);
          expect(me.status).toBe(401);
          expect(me.body.code).toBe('auth.token_revoked');
        }
        expect(built.meRan()).toBe(before);
        const refreshed = await built.agent
          .post('/auth/refresh')
          .send({ refresh_token: second.refresh_token });
        expect(refreshed.status).toBe(401);
        expect(refreshed.body.code).toBe('auth.token_revoked');
      });

      it("ignores another user's refresh token: their session stays alive", async () => {
        const built = make();
        const alice = await loginPair(built);
        const bob = await loginPair(built, 'bob', BOB_PASSWORD);
        const failed = collect('auth.failed');
        const res = await built.agent
          .post('/auth/logout')
          .set('Authorization', `Bearer ${alice.access_token}`)
          .send({ refresh_token: bob.refresh_token });
        failed.stop();
        expect(res.status).toBe(204);
        expect(failed.events.map((e) => [e.reason, e.sub])).toEqual([
          ['foreign_refresh_token', 'u-alice'],
        ]);
        // Bob's session: untouched.
        const bobMe = await built.agent
          .get('/me')
          .set('Authorization', `Bearer ${bob.access_token}`);
        expect(bobMe.status).toBe(200);
        expect(bobMe.body.sub).toBe('u-bob');
        const bobRefresh = await built.agent
          .post('/auth/refresh')
          .send({ refresh_token: bob.refresh_token });
        expect(bobRefresh.status).toBe(200);
        // Alice's session: ended, as her logout asked.
        const aliceMe = await built.agent
          .get('/me')
          .set('Authorization', `Bearer ${alice.access_token}`);
        expect(aliceMe.status).toBe(401);
        expect(aliceMe.body.code).toBe('auth.token_revoked');
        const aliceRefresh = await built.agent
          .post('/auth/refresh')
          .send({ refresh_token: alice.refresh_token });
        expect(aliceRefresh.status).toBe(401);
      });

      it("ignores the refresh token of the same user's other session", async () => {
        const built = make();
        const laptop = await loginPair(built);
        const phone = await loginPair(built);
        const res = await built.agent
          .post('/auth/logout')
          .set('Authorization', `Bearer ${laptop.access_token}`)
          .send({ refresh_token: phone.refresh_token });
        expect(res.status).toBe(204);
        const phoneMe = await built.agent
          .get('/me')
          .set('Authorization', `Bearer ${phone.access_token}`);
        expect(phoneMe.status).toBe(200);
        const phoneRefresh = await built.agent
          .post('/auth/refresh')
          .send({ refresh_token: phone.refresh_token });
        expect(phoneRefresh.status).toBe(200);
      });

      it('refuses an extra body key with 400 and keeps the session', async () => {
        const built = make();
        const pair = await loginPair(built);
        const res = await built.agent
          .post('/auth/logout')
          .set('Authorization', `Bearer ${pair.access_token}`)
          .send({ refresh_token: pair.refresh_token, all: true });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('validation.failed');
        expect(built.counts.revoke).toBe(0);
        const me = await built.agent.get('/me').set('Authorization', `Bearer ${pair.access_token}`);
        expect(me.status).toBe(200);
      });
    });

    describe.each<BodySetup>(['express.json()', 'bodyLimits()'])(
      'beside an app-level %s',
      (body) => {
        it('logs in, validates and logs out without a second parser or its warning', async () => {
          const warning = vi.spyOn(process, 'emitWarning');
          try {
            const built = make({ body });
            const pair = await loginPair(built);
            const extra = await built.agent
              .post('/auth/login')
              .send({ username: 'alice', password: PASSWORD, admin: true });
            expect(extra.status).toBe(400);
            expect(extra.body.code).toBe('validation.failed');
            const logout = await built.agent
              .post('/auth/logout')
              .set('Authorization', `Bearer ${pair.access_token}`);
            expect(logout.status).toBe(204);
            // Logout with only the bearer ends the session: its refresh token is refused too.
            const refreshed = await built.agent
              .post('/auth/refresh')
              .send({ refresh_token: pair.refresh_token });
            expect(refreshed.status).toBe(401);
            expect(refreshed.body.code).toBe('auth.token_revoked');
            expect(warning).not.toHaveBeenCalled();
          } finally {
            warning.mockRestore();
          }
        });
      },
    );
  });

  describe('login under load and username digests', () => {
    const make = (router: Partial<AuthRouterOptions>) => build(factory, kinds[0]![1], { router });

    it('answers 503 auth.overloaded with Retry-After when the password queue is full, then recovers', async () => {
      const passwordQueue = createPasswordQueue({ maxPending: 1, retryAfterSeconds: 2 });
      const built = make({ passwordQueue });
      let release: () => void = () => undefined;
      const busy = passwordQueue.run(
        () =>
          new Promise<void>((resolve) => {
            release = resolve;
          }),
      );
      const failed = collect('auth.failed');
      const res = await built.agent
        .post('/auth/login')
        .send({ username: 'alice', password: PASSWORD });
      failed.stop();
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('auth.overloaded');
      expect(res.headers['retry-after']).toBe('2');
      expect(res.body).not.toHaveProperty('access_token');
      expect(built.counts.issue).toBe(0);
      expect(failed.events).toHaveLength(1);
      release();
      await busy;
      const later = await built.agent
        .post('/auth/login')
        .send({ username: 'alice', password: PASSWORD });
      expect(later.status).toBe(200);
      expect(built.counts.issue).toBe(1);
    });

    it('hashes unknown usernames with HMAC under usernameKey', async () => {
      const usernameKey = 'test-FAKE-username-key-0123456789abcdef';
      const built = make({ usernameKey, loginLimiter: false });
      const failed = collect('auth.failed');
      await built.agent.post('/auth/login').send({ username: 'ghost', password: 'pw-test' });
      failed.stop();
      const expected = createHmac('sha256', usernameKey).update('ghost').digest('hex');
      expect(failed.events[0]).toMatchObject({ usernameHash: expected.slice(0, 16) });
    });

    it('derives the same username key from the same signing key, another from another', async () => {
      const digest = async (secret?: string) => {
        const tokens = hsTokens(kinds[0]![1](), secret === undefined ? {} : { secret });
        const app = factory();
        app.use(
          '/auth',
          authRouter({
            tokens,
            users: userTable().adapter,
            passwordHashCost: COST,
            loginLimiter: false,
          }),
        );
        app.use(errorHandler());
        const failed = collect('auth.failed');
        await request(app).post('/auth/login').send({ username: 'ghost', password: 'pw-test' });
        failed.stop();
        return failed.events[0]!.usernameHash;
      };
      const first = await digest();
      expect(await digest()).toBe(first);
      expect(await digest('test-FAKE-another-signing-secret-0123456789')).not.toBe(first);
    });
  });

  describe('loginLimiter', () => {
    const make = (router: Partial<AuthRouterOptions>) => build(factory, kinds[0]![1], { router });

    it('can be switched off with false', async () => {
      const built = make({ loginLimiter: false });
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        statuses.push(
          (await built.agent.post('/auth/login').send({ username: 'alice', password: 'bad-test' }))
            .status,
        );
      }
      expect(statuses).toEqual(Array(7).fill(401));
    });

    it('can be replaced by any middleware, which sees the parsed body', async () => {
      const seen: unknown[] = [];
      const custom: RequestHandler = (req, _res, next) => {
        seen.push((req.body as { username?: unknown }).username);
        next();
      };
      const built = make({ loginLimiter: custom });
      await loginPair(built);
      expect(seen).toEqual(['alice']);
    });

    it('is not mounted on /refresh or /logout', async () => {
      const seen: string[] = [];
      const custom: RequestHandler = (req, _res, next) => {
        seen.push(req.path);
        next();
      };
      const built = make({ loginLimiter: custom });
      const pair = await loginPair(built);
      await built.agent.post('/auth/refresh').send({ refresh_token: pair.refresh_token });
      expect(seen).toEqual(['/login']);
    });
  });
});

describe('authRouter options', () => {
  const tokens = hsTokens(kinds[0]![1]());
  const users = userTable().adapter;

  it.each<[string, unknown]>([
    ['no options', undefined],
    ['no tokens', { users }],
    ['tokens not a service', { tokens: {}, users }],
    ['no users', { tokens }],
    [
      'users without findById',
      { tokens, users: { findByUsername: () => Promise.resolve(undefined) } },
    ],
    ['users null', { tokens, users: null }],
    ['updatePasswordHash not a function', { tokens, users: { ...users, updatePasswordHash: 'x' } }],
    ['loginLimiter true', { tokens, users, loginLimiter: true }],
    ['loginLimiter an options object', { tokens, users, loginLimiter: { limit: 5 } }],
    ['passwordHashCost -1', { tokens, users, passwordHashCost: -1 }],
    ['passwordHashCost NaN', { tokens, users, passwordHashCost: NaN }],
    ['passwordHashCost Infinity', { tokens, users, passwordHashCost: Infinity }],
    ["passwordHashCost '12'", { tokens, users, passwordHashCost: '12' }],
    ['passwordHashCost null', { tokens, users, passwordHashCost: null }],
    ['passwordHashCost {}', { tokens, users, passwordHashCost: {} }],
    ['passwordHashCost 9', { tokens, users, passwordHashCost: 9 }],
    ['passwordHashCost 16', { tokens, users, passwordHashCost: 16 }],
    ['passwordHashCost 10.5', { tokens, users, passwordHashCost: 10.5 }],
    ['a realm with a quote', { tokens, users, realm: 'a"b' }],
    ['an unknown key', { tokens, users, passwordCost: 12 }],
    ['options an array', [tokens, users]],
  ])('refuses %s with BulwarkConfigError', (_case, options) => {
    expect(() => authRouter(options as AuthRouterOptions)).toThrow(BulwarkConfigError);
  });

  it('names the option a typo meant', () => {
    expect(() =>
      authRouter({ tokens, users, loginLimitter: false } as unknown as AuthRouterOptions),
    ).toThrow(/Did you mean `loginLimiter`\?/);
  });

  it('lists every problem at once', () => {
    try {
      authRouter({ users: {}, passwordHashCost: 99 } as unknown as AuthRouterOptions);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(BulwarkConfigError);
      expect((error as BulwarkConfigError).problems).toHaveLength(3);
    }
  });
});
