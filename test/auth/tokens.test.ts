import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  BulwarkConfigError,
  createTokenService,
  jwtSecretsFromEnv,
  memoryStore,
  redisStore,
} from '../../src/index.js';
import type { AuthStore, TokenKey, TokenService } from '../../src/index.js';
import { redisCommand } from '../../src/stores/redis-client.js';
import { sharedPrefixes } from '../helpers/redis-targets.js';
import {
  AUDIENCE,
  claims,
  collect,
  decodePart,
  hmacJwt,
  hsTokens,
  interceptStore,
  ISSUER,
  OLD_TEST_SECRET,
  storeKinds,
  TEST_SECRET,
} from './helpers.js';

const { kinds, close, redis } = await storeKinds();
afterAll(close);
const prefixFor = sharedPrefixes();

function clock(start = 1_700_000_000_000): { now: () => number; advance: (s: number) => void } {
  let time = start;
  return { now: () => time, advance: (seconds) => (time += seconds * 1000) };
}

/** Wraps a store and records every call, to prove which requests reach it. */
function countingStore(inner: AuthStore): { store: AuthStore; calls: string[]; values: string[] } {
  const calls: string[] = [];
  const values: string[] = [];
  const store = interceptStore(inner, (method, args, call) => {
    calls.push(method);
    values.push(JSON.stringify(args));
    return call();
  });
  return { store, calls, values };
}

const BAD_OPTIONS: [string, Record<string, unknown>][] = [
  ['a secret under 32 bytes', { secret: 'test-FAKE-short' }],
  ['a number secret', { secret: 12345 }],
  ['a short previous secret', { previousSecrets: ['test-FAKE-short'] }],
  ['a short secret in the comma form', { previousSecrets: `${OLD_TEST_SECRET}, test-FAKE-short` }],
  ['the same secret twice', { previousSecrets: [TEST_SECRET] }],
  ['no issuer', { issuer: undefined }],
  ['an empty audience', { audience: '' }],
  ['algorithms none', { algorithms: ['none'] }],
  ['algorithms empty', { algorithms: [] }],
  ['RS256 with a secret', { algorithms: ['RS256'] }],
  ['two HMAC algorithms with a secret', { algorithms: ['HS256', 'HS512'] }],
  ['HS512 with a 44-byte secret', { algorithms: ['HS512'] }],
  ['keys and secret together', { keys: [{ algorithm: 'HS256', secret: TEST_SECRET }] }],
  ['no store', { store: undefined }],
  ['a store without methods', { store: {} }],
  ['clockTolerance over 30', { clockTolerance: 31 }],
  ['an unknown option', { acessTtl: 60 }],
  ...[-1, 0, Number.NaN, Infinity, '5', null, {}, 1.5].map(
    (value): [string, Record<string, unknown>] => [
      `accessTtl ${inspect(value)}`,
      { accessTtl: value },
    ],
  ),
  ...[-1, Number.NaN, '60', 30].map((value): [string, Record<string, unknown>] => [
    `refreshTtl ${String(value)}`,
    { refreshTtl: value },
  ]),
  ['familyTtl NaN', { familyTtl: Number.NaN }],
  ['now not a function', { now: 5 }],
];

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
const ed = generateKeyPairSync('ed25519');

const BAD_KEYS: [string, TokenKey[]][] = [
  ['no keys', []],
  ['RS256 with a 1024-bit key', [{ algorithm: 'RS256', privateKey: weakRsa.privateKey }]],
  ['ES256 on P-384', [{ algorithm: 'ES256', privateKey: p384.privateKey }]],
  ['EdDSA with an RSA key', [{ algorithm: 'EdDSA', privateKey: rsa.privateKey }]],
  ['RS256 with an EC key', [{ algorithm: 'RS256', privateKey: p256.privateKey }]],
  ['a verify-only signing key', [{ algorithm: 'RS256', publicKey: rsa.publicKey }]],
  ['an unreadable PEM', [{ algorithm: 'RS256', privateKey: 'not a key' }]],
  ['a kid with a slash', [{ algorithm: 'HS256', secret: TEST_SECRET, kid: 'a/b' }]],
  ['algorithm none', [{ algorithm: 'none' as 'HS256', secret: TEST_SECRET }]],
  ['HS256 without a secret', [{ algorithm: 'HS256' }]],
];

describe('createTokenService options', () => {
  it.each(BAD_OPTIONS)('refuses %s', (_name, override) => {
    const options = {
      secret: TEST_SECRET,
      issuer: ISSUER,
      audience: AUDIENCE,
      store: memoryStore(),
      ...override,
    };
    if ('keys' in override) delete (options as { previousSecrets?: unknown }).previousSecrets;
    expect(() => createTokenService(options as never)).toThrow(BulwarkConfigError);
  });

  it.each(BAD_KEYS)('refuses keys with %s', (_name, keys) => {
    expect(() =>
      createTokenService({ keys, issuer: ISSUER, audience: AUDIENCE, store: memoryStore() }),
    ).toThrow(BulwarkConfigError);
  });

  it('lists every problem at once and never prints a secret', () => {
    const secret = 'test-FAKE-too-short';
    try {
      createTokenService({ secret, issuer: '', audience: '', accessTtl: -1, store: memoryStore() });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(BulwarkConfigError);
      expect((error as BulwarkConfigError).problems.length).toBeGreaterThanOrEqual(4);
      expect((error as Error).message).not.toContain(secret);
    }
  });

  describe('secrets from the environment', () => {
    it('reads no environment: without `secret` or `keys` it is refused, naming the helper', () => {
      vi.stubEnv('JWT_SECRET_KEY', TEST_SECRET);
      try {
        expect(() =>
          createTokenService({ issuer: ISSUER, audience: AUDIENCE, store: memoryStore() }),
        ).toThrow(/jwtSecretsFromEnv/);
      } finally {
        vi.unstubAllEnvs();
      }
    });

    it('jwtSecretsFromEnv() reads JWT_SECRET_KEY and JWT_PREVIOUS_SECRET_KEYS', async () => {
      const old = hsTokens(memoryStore(), { secret: OLD_TEST_SECRET });
      const token = (await old.issue({ sub: 'u' })).access_token;
      const env = { JWT_SECRET_KEY: TEST_SECRET, JWT_PREVIOUS_SECRET_KEYS: OLD_TEST_SECRET };
      const fromEnv = createTokenService({
        ...jwtSecretsFromEnv({ env, secretsDir: '/nonexistent-bulwark-test-dir' }),
        issuer: ISSUER,
        audience: AUDIENCE,
        store: memoryStore(),
      });
      await expect(fromEnv.verifyAccess(token)).resolves.toMatchObject({ sub: 'u' });
    });

    it('refuses a short JWT_SECRET_KEY and a missing one', () => {
      const secretsDir = '/nonexistent-bulwark-test-dir';
      const short = jwtSecretsFromEnv({ env: { SECRET_KEY: 'test-FAKE-short' }, secretsDir });
      expect(() =>
        createTokenService({ ...short, issuer: ISSUER, audience: AUDIENCE, store: memoryStore() }),
      ).toThrow(BulwarkConfigError);
      expect(() => jwtSecretsFromEnv({ env: {}, secretsDir })).toThrow(BulwarkConfigError);
      expect(() => jwtSecretsFromEnv({ env: {}, secretsDir })).toThrow(/JWT_SECRET_KEY/);
    });
  });

  it.each([
    ['accessTtlSeconds', 'accessTtl', 600],
    ['refreshTtlSeconds', 'refreshTtl', 3600],
    ['familyTtlSeconds', 'familyTtl', 86_400],
    ['clockToleranceSeconds', 'clockTolerance', 5],
  ])('takes %s, or its old name %s, but not both', (name, old, value) => {
    const base = { secret: TEST_SECRET, issuer: ISSUER, audience: AUDIENCE, store: memoryStore() };
    expect(() => createTokenService({ ...base, [name]: value })).not.toThrow();
    expect(() => createTokenService({ ...base, [old]: value })).not.toThrow();
    expect(() => createTokenService({ ...base, [name]: value, [old]: value })).toThrow(
      new RegExp(`\`${name}\` or its old name \`${old}\``),
    );
  });

  it("reads the old names with the new ones' rules", async () => {
    const base = { secret: TEST_SECRET, issuer: ISSUER, audience: AUDIENCE, store: memoryStore() };
    const tokens = createTokenService({ ...base, accessTtl: 120 });
    const renamed = createTokenService({ ...base, accessTtlSeconds: 120 });
    expect((await tokens.issue({ sub: 'u' })).expires_in).toBe(120);
    expect((await renamed.issue({ sub: 'u' })).expires_in).toBe(120);
    expect(() => createTokenService({ ...base, accessTtl: 0 })).toThrow(/`accessTtl` must be >= 1/);
  });
});

describe('key rings', () => {
  it('derives one stable kid per secret, which is not the secret', async () => {
    const kidOf = async (tokens: TokenService) =>
      decodePart((await tokens.issue({ sub: 'u' })).access_token, 0).kid as string;
    const a = await kidOf(hsTokens(memoryStore()));
    const b = await kidOf(hsTokens(memoryStore()));
    const c = await kidOf(hsTokens(memoryStore(), { secret: OLD_TEST_SECRET }));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(TEST_SECRET).not.toContain(a);
    expect(a).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  it('rotates JWT_SECRET_KEY without logging anyone out', async () => {
    const store = memoryStore();
    const before = hsTokens(store, { secret: OLD_TEST_SECRET });
    const pair = await before.issue({ sub: 'u' });
    const after = hsTokens(store, { secret: TEST_SECRET, previousSecrets: OLD_TEST_SECRET });
    await expect(after.verifyAccess(pair.access_token)).resolves.toMatchObject({ sub: 'u' });
    // Sessions live on: the refresh token is not a JWT, and the new pair is signed with the new key.
    const next = await after.refresh(pair.refresh_token);
    expect(decodePart(next.access_token, 0).kid).not.toBe(decodePart(pair.access_token, 0).kid);
    // Once the old secret is dropped, its tokens are refused.
    const dropped = hsTokens(store);
    await expect(dropped.verifyAccess(pair.access_token)).rejects.toMatchObject({
      code: 'auth.invalid_token',
    });
    // And a process still on the old secret alone does not know the new kid.
    await expect(before.verifyAccess(next.access_token)).rejects.toMatchObject({
      code: 'auth.invalid_token',
    });
  });

  it.each([
    ['RS256', { algorithm: 'RS256', privateKey: rsa.privateKey } satisfies TokenKey, rsa.publicKey],
    ['PS256', { algorithm: 'PS256', privateKey: rsa.privateKey } satisfies TokenKey, rsa.publicKey],
    [
      'ES256',
      { algorithm: 'ES256', privateKey: p256.privateKey } satisfies TokenKey,
      p256.publicKey,
    ],
    ['EdDSA', { algorithm: 'EdDSA', privateKey: ed.privateKey } satisfies TokenKey, ed.publicKey],
  ])('signs with %s and verifies with the public key alone', async (alg, key, publicKey) => {
    const store = memoryStore();
    const signer = createTokenService({ keys: [key], issuer: ISSUER, audience: AUDIENCE, store });
    const pair = await signer.issue({ sub: 'u', roles: ['r'] });
    expect(decodePart(pair.access_token, 0)).toMatchObject({ alg, typ: 'at+jwt' });
    const kid = decodePart(pair.access_token, 0).kid as string;
    const verifier = createTokenService({
      keys: [
        { algorithm: 'HS256', secret: TEST_SECRET },
        { algorithm: key.algorithm, publicKey, kid },
      ],
      issuer: ISSUER,
      audience: AUDIENCE,
      store,
    });
    await expect(verifier.verifyAccess(pair.access_token)).resolves.toMatchObject({
      sub: 'u',
      roles: ['r'],
    });
  });

  it('applies exp, iss and aud to EdDSA tokens too', async () => {
    const time = clock();
    const tokens = createTokenService({
      keys: [{ algorithm: 'EdDSA', privateKey: ed.privateKey }],
      issuer: ISSUER,
      audience: AUDIENCE,
      accessTtl: 60,
      store: memoryStore(),
      now: time.now,
    });
    const { access_token } = await tokens.issue({ sub: 'u' });
    const other = createTokenService({
      keys: [{ algorithm: 'EdDSA', privateKey: ed.privateKey }],
      issuer: 'https://other.example.test',
      audience: AUDIENCE,
      store: memoryStore(),
      now: time.now,
    });
    await expect(other.verifyAccess(access_token)).rejects.toMatchObject({ reason: 'bad_issuer' });
    time.advance(61);
    await expect(tokens.verifyAccess(access_token)).rejects.toMatchObject({
      code: 'auth.token_expired',
    });
  });
});

describe.each(kinds)('token service on a %s store', (_label, makeStore) => {
  it('issues a Bearer pair with the documented claims and header', async () => {
    const tokens = hsTokens(makeStore());
    const pair = await tokens.issue({ sub: 'user-7', roles: ['admin'], tenant: 't1' });
    expect(pair).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    // `<session id>.<secret>`: the session id is the access token's `sid`.
    expect(pair.refresh_token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    const header = decodePart(pair.access_token, 0);
    expect(header).toMatchObject({ alg: 'HS256', typ: 'at+jwt' });
    expect(typeof header.kid).toBe('string');
    const claims = await tokens.verifyAccess(pair.access_token);
    expect(claims).toMatchObject({
      sub: 'user-7',
      roles: ['admin'],
      tenant: 't1',
      iss: ISSUER,
      aud: AUDIENCE,
    });
    expect(claims.exp - claims.iat).toBe(900);
    expect(typeof claims.jti).toBe('string');
  });

  it('rotates on refresh, keeps custom claims, and spends the old token', async () => {
    const tokens = hsTokens(makeStore());
    const first = await tokens.issue({ sub: 'u', roles: ['user'], tenant: 't1' });
    const second = await tokens.refresh(first.refresh_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(await tokens.verifyAccess(second.access_token)).toMatchObject({
      sub: 'u',
      tenant: 't1',
    });
    const third = await tokens.refresh(second.refresh_token);
    await expect(tokens.verifyAccess(third.access_token)).resolves.toMatchObject({ sub: 'u' });
    await expect(tokens.refresh(first.refresh_token)).rejects.toMatchObject({
      code: 'auth.refresh_reused',
    });
    await expect(tokens.refresh(third.refresh_token)).rejects.toMatchObject({
      code: 'auth.token_revoked',
    });
  });

  it('gives exactly one new pair to 20 concurrent refreshes of one token', async () => {
    const tokens = hsTokens(makeStore());
    const reused = collect('auth.refresh_reused');
    const { refresh_token } = await tokens.issue({ sub: 'racer' });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => tokens.refresh(refresh_token)),
    );
    reused.stop();
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    for (const r of lost)
      expect(r.reason).toMatchObject({ code: 'auth.refresh_reused', status: 401 });
    expect(reused.events.length).toBe(19);
  });

  it('refuses unknown and malformed refresh tokens without rotating anything', async () => {
    const tokens = hsTokens(makeStore());
    for (const bad of ['', 'short', 'x'.repeat(43), 'a.b.c', 'é'.repeat(43), 'A'.repeat(10_000)]) {
      await expect(tokens.refresh(bad)).rejects.toMatchObject({ code: 'auth.invalid_token' });
    }
  });

  it('revokes the access token and its session on logout', async () => {
    const tokens = hsTokens(makeStore());
    const pair = await tokens.issue({ sub: 'u' });
    await tokens.revoke(pair.access_token, pair.refresh_token);
    await expect(tokens.verifyAccess(pair.access_token)).rejects.toMatchObject({
      code: 'auth.token_revoked',
    });
    await expect(tokens.refresh(pair.refresh_token)).rejects.toMatchObject({
      code: 'auth.token_revoked',
    });
  });

  it('revoke-all refuses earlier tokens and sessions, and accepts a login right after', async () => {
    const tokens = hsTokens(makeStore());
    const early = await tokens.issue({ sub: 'all' });
    const other = await tokens.issue({ sub: 'someone-else' });
    await tokens.revokeAllForUser('all');
    const late = await tokens.issue({ sub: 'all' });
    await expect(tokens.verifyAccess(early.access_token)).rejects.toMatchObject({
      reason: 'revoked_all',
    });
    await expect(tokens.refresh(early.refresh_token)).rejects.toMatchObject({
      code: 'auth.token_revoked',
    });
    await expect(tokens.verifyAccess(late.access_token)).resolves.toMatchObject({ sub: 'all' });
    const refreshed = await tokens.refresh(late.refresh_token);
    await expect(tokens.verifyAccess(refreshed.access_token)).resolves.toMatchObject({
      sub: 'all',
    });
    await expect(tokens.verifyAccess(other.access_token)).resolves.toMatchObject({
      sub: 'someone-else',
    });
  });

  it('refuses to issue for a bad subject or reserved claims', async () => {
    const tokens = hsTokens(makeStore());
    for (const subject of [
      { sub: '' },
      { sub: 5 },
      { sub: 'u', roles: 'admin' },
      { sub: 'u', exp: 1 },
      { sub: 'u', epoch: 'x' },
    ]) {
      await expect(tokens.issue(subject as never)).rejects.toMatchObject({
        code: 'validation.failed',
      });
    }
  });
});

describe('token service timing and store use', () => {
  it('expires access tokens, honours clockTolerance, and ends sessions at familyTtl', async () => {
    const time = clock();
    const store = memoryStore({ now: time.now });
    const strict = hsTokens(store, {
      accessTtl: 60,
      refreshTtl: 100,
      familyTtl: 200,
      now: time.now,
    });
    const lenient = hsTokens(store, { accessTtl: 60, clockTolerance: 10, now: time.now });
    let pair = await strict.issue({ sub: 'u' });
    time.advance(65);
    await expect(strict.verifyAccess(pair.access_token)).rejects.toMatchObject({
      code: 'auth.token_expired',
    });
    await expect(lenient.verifyAccess(pair.access_token)).resolves.toMatchObject({ sub: 'u' });
    // Rotation renews each refresh token but never the session's absolute lifetime.
    pair = await strict.refresh(pair.refresh_token);
    time.advance(90);
    pair = await strict.refresh(pair.refresh_token);
    time.advance(90);
    await expect(strict.refresh(pair.refresh_token)).rejects.toMatchObject({
      code: 'auth.invalid_token',
    });
  });

  it('checks the clock and revocation again for a token it has verified before', async () => {
    const time = clock();
    const store = memoryStore({ now: time.now });
    const strict = hsTokens(store, { accessTtl: 60, now: time.now });
    const lenient = hsTokens(store, { accessTtl: 60, clockTolerance: 10, now: time.now });
    const pair = await strict.issue({ sub: 'u' });
    await expect(strict.verifyAccess(pair.access_token)).resolves.toMatchObject({ sub: 'u' });
    await expect(lenient.verifyAccess(pair.access_token)).resolves.toMatchObject({ sub: 'u' });
    time.advance(59);
    await expect(strict.verifyAccess(pair.access_token)).resolves.toMatchObject({ sub: 'u' });
    time.advance(1);
    await expect(strict.verifyAccess(pair.access_token)).rejects.toMatchObject({
      code: 'auth.token_expired',
    });
    await expect(lenient.verifyAccess(pair.access_token)).resolves.toMatchObject({ sub: 'u' });
    time.advance(10);
    await expect(lenient.verifyAccess(pair.access_token)).rejects.toMatchObject({
      code: 'auth.token_expired',
    });

    const fresh = await strict.issue({ sub: 'v' });
    await strict.verifyAccess(fresh.access_token);
    await strict.revoke(fresh.access_token);
    await expect(strict.verifyAccess(fresh.access_token)).rejects.toMatchObject({
      code: 'auth.token_revoked',
    });
  });

  it('refuses a token before its nbf, also after it has verified once', async () => {
    const time = clock();
    const tokens = hsTokens(memoryStore({ now: time.now }), { now: time.now });
    const kid = decodePart((await tokens.issue({ sub: 'u' })).access_token, 0).kid;
    const iat = Math.floor(time.now() / 1000);
    const early = hmacJwt(
      { alg: 'HS256', typ: 'at+jwt', kid },
      claims({ iat, nbf: iat + 10, exp: iat + 100 }),
      TEST_SECRET,
    );
    await expect(tokens.verifyAccess(early)).rejects.toMatchObject({ code: 'auth.invalid_token' });
    time.advance(10);
    await expect(tokens.verifyAccess(early)).resolves.toMatchObject({ sub: 'user-1' });
    await expect(tokens.verifyAccess(early)).resolves.toMatchObject({ sub: 'user-1' });
  });

  it('gives every verification its own claims object', async () => {
    const tokens = hsTokens(memoryStore());
    const { access_token: token } = await tokens.issue({ sub: 'u', roles: ['member'] });
    const first = await tokens.verifyAccess(token);
    first.roles.push('admin');
    first.sub = 'someone-else';
    const second = await tokens.verifyAccess(token);
    expect(second).toMatchObject({ sub: 'u', roles: ['member'] });
    expect(second).not.toBe(first);
  });

  it('keeps verifying when more tokens pass than it remembers', async () => {
    const tokens = hsTokens(memoryStore());
    const issued: string[] = [];
    for (let i = 0; i < 1100; i++) {
      issued.push((await tokens.issue({ sub: `u${String(i)}` })).access_token);
    }
    for (const token of issued) await tokens.verifyAccess(token);
    await expect(tokens.verifyAccess(issued[0]!)).resolves.toMatchObject({ sub: 'u0' });
    await expect(tokens.verifyAccess(issued[1099]!)).resolves.toMatchObject({ sub: 'u1099' });
  });

  it("keeps a session's revoked mark only as long as its newest access token can live", async () => {
    const time = clock();
    const counted = countingStore(memoryStore({ now: time.now }));
    const tokens = hsTokens(counted.store, { accessTtl: 120, now: time.now });
    const pair = await tokens.issue({ sub: 'u' });
    time.advance(20);
    await tokens.revoke(pair.access_token);
    const revokeCall = counted.values[counted.calls.lastIndexOf('revokeRefreshFamily')]!;
    // A token minted the moment before could live accessTtl more (plus a second of rounding).
    expect(JSON.parse(revokeCall)[0].revokedTtlMs).toBe(121_000);
    expect(counted.calls).not.toContain('set');
  });

  it('never sends a refused token to the store, and checks revocation in one call', async () => {
    const counted = countingStore(memoryStore());
    const tokens = hsTokens(counted.store);
    const kid = decodePart((await tokens.issue({ sub: 'u' })).access_token, 0).kid;
    const valid = (await tokens.issue({ sub: 'u' })).access_token;
    counted.calls.length = 0;
    const garbage = [
      'garbage',
      'a.b.c',
      hmacJwt(
        { alg: 'HS256', typ: 'at+jwt', kid },
        { sub: 'u' },
        'test-FAKE-wrong-secret-0123456789abcdef',
      ),
      `${valid}x`,
      'x'.repeat(9000),
    ];
    const refused = { status: 401, code: 'auth.invalid_token' };
    for (const token of garbage)
      await expect(tokens.verifyAccess(token)).rejects.toMatchObject(refused);
    for (const token of garbage) await expect(tokens.revoke(token)).rejects.toMatchObject(refused);
    expect(counted.calls).toEqual([]);
    await tokens.verifyAccess(valid);
    expect(counted.calls).toEqual(['getMany']);
  });

  it('stores refresh tokens only as hashes', async () => {
    const counted = countingStore(memoryStore());
    const tokens = hsTokens(counted.store);
    const pair = await tokens.issue({ sub: 'u' });
    const next = await tokens.refresh(pair.refresh_token);
    const written = counted.values.join('\n');
    expect(written).not.toContain(pair.refresh_token);
    expect(written).not.toContain(next.refresh_token);
  });

  it.runIf(redis !== undefined)('keeps no raw refresh token in Redis', async () => {
    const prefix = prefixFor('hashes');
    const tokens = hsTokens(redisStore(redis!, { prefix }));
    const pair = await tokens.issue({ sub: 'u' });
    const keys = (await redisCommand(redis!, ['KEYS', `${prefix}*`])) as string[];
    const dump = JSON.stringify(
      await Promise.all(keys.map((k) => redisCommand(redis!, ['HGETALL', k]))),
    );
    expect(keys.join(' ') + dump).not.toContain(pair.refresh_token);
  });

  it('answers auth.unavailable when the store fails, never a pass', async () => {
    const broken = memoryStore();
    const failing = interceptStore(broken, (method, _args, call) =>
      method === 'getMany' ? Promise.reject(new Error('down')) : call(),
    );
    const tokens = hsTokens(failing);
    const { access_token } = await tokens.issue({ sub: 'u' });
    await expect(tokens.verifyAccess(access_token)).rejects.toMatchObject({
      code: 'auth.unavailable',
      status: 503,
    });
  });
});
