import { createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenService, jwtAuth } from '../../src/index.js';
import type { AuthStore, TokenService } from '../../src/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express.js';
import {
  AUDIENCE,
  b64,
  claims,
  collect,
  decodePart,
  hmacJwt,
  ISSUER,
  protectedApp,
  storeKinds,
  TEST_SECRET,
} from '../auth/helpers.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const { kinds, close } = await storeKinds();

/** An RS256 JWT signed by hand with any key, headers included as given. */
function rsaJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject,
): string {
  const input = `${b64({ alg: 'RS256', ...header })}.${b64(payload)}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

// A server that counts requests: any hit means a header URL was fetched.
let fetched = 0;
let trap: Server;
let trapUrl: string;
beforeAll(async () => {
  trap = createServer((_req, res) => {
    fetched++;
    res.end('{}');
  });
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
  trapUrl = `http://127.0.0.1:${String((trap.address() as AddressInfo).port)}/jwks.json`;
});
afterAll(async () => {
  await new Promise((resolve) => trap.close(resolve));
  await close();
});

interface Ctx {
  hs: TokenService;
  rs: TokenService;
  hsKid: string;
  rsKid: string;
  agent: ReturnType<typeof request>;
}

interface AttackCase {
  name: string;
  /** Route guarded by the HS256 service or by the RS256 service. */
  route?: '/me' | '/rs' | '/mixed';
  /** The Authorization header, or a request to send instead. */
  attack: (ctx: Ctx) => Promise<string | { path: string; header?: string }>;
  code: string;
  reason?: string;
}

const YEAR = 365 * 86_400;
const now = (): number => Math.floor(Date.now() / 1000);
/** `iat` now and `exp` `seconds` later, from one reading of the clock. */
function lifetime(seconds: number): { iat: number; exp: number } {
  const iat = now();
  return { iat, exp: iat + seconds };
}

const none = (alg: string) => (ctx: Ctx) =>
  Promise.resolve(`Bearer ${b64({ alg, typ: 'at+jwt', kid: ctx.hsKid })}.${b64(claims())}.`);

function headerWith(ctx: Ctx, extra: Record<string, unknown>): Record<string, unknown> {
  return { alg: 'HS256', typ: 'at+jwt', kid: ctx.hsKid, ...extra };
}

async function issued(ctx: Ctx): Promise<{ access_token: string; refresh_token: string }> {
  return ctx.hs.issue({ sub: 'victim', roles: ['user'] });
}

const CASES: AttackCase[] = [
  ...['none', 'None', 'NONE', 'nOnE', 'NoNe'].map((alg): AttackCase => ({
    name: `alg ${alg}`,
    attack: none(alg),
    code: 'auth.invalid_token',
  })),
  {
    name: 'alg none with a signature part',
    attack: (ctx) =>
      Promise.resolve(
        `Bearer ${b64({ alg: 'none', typ: 'at+jwt', kid: ctx.hsKid })}.${b64(claims())}.c2ln`,
      ),
    code: 'auth.invalid_token',
    reason: 'bad_algorithm',
  },
  {
    name: 'empty signature on an HS256 header',
    attack: async (ctx) => {
      const { access_token } = await issued(ctx);
      return `Bearer ${access_token.slice(0, access_token.lastIndexOf('.') + 1)}`;
    },
    code: 'auth.invalid_token',
    reason: 'missing_signature',
  },
  {
    name: 'key confusion: HS256 signed with the RS256 public key PEM',
    route: '/rs',
    attack: (ctx) =>
      Promise.resolve(
        `Bearer ${hmacJwt(headerWith(ctx, { kid: ctx.rsKid }), claims(), rsaPublicPem)}`,
      ),
    code: 'auth.invalid_token',
    reason: 'bad_algorithm',
  },
  {
    name: 'key confusion against a mixed HS256 + RS256 ring: HS256 header naming the RS256 kid',
    route: '/mixed',
    attack: (ctx) =>
      Promise.resolve(
        `Bearer ${hmacJwt(headerWith(ctx, { kid: ctx.rsKid }), claims(), rsaPublicPem)}`,
      ),
    code: 'auth.invalid_token',
    reason: 'algorithm_mismatch',
  },
  {
    name: 'wrong secret',
    attack: (ctx) =>
      Promise.resolve(
        `Bearer ${hmacJwt(headerWith(ctx, {}), claims(), 'test-FAKE-wrong-secret-0123456789abcdef')}`,
      ),
    code: 'auth.invalid_token',
    reason: 'bad_signature',
  },
  {
    name: 'tampered payload (roles raised to admin)',
    attack: async (ctx) => {
      const [head, , signature] = (await issued(ctx)).access_token.split('.');
      const payload = { ...claims(), sub: 'victim', roles: ['admin'] };
      return `Bearer ${head!}.${b64(payload)}.${signature!}`;
    },
    code: 'auth.invalid_token',
    reason: 'bad_signature',
  },
  {
    name: 'expired',
    attack: (ctx) => {
      const iat = Math.floor(Date.now() / 1000) - 1000;
      return Promise.resolve(
        `Bearer ${hmacJwt(headerWith(ctx, {}), claims({ iat, exp: iat + 60 }), TEST_SECRET)}`,
      );
    },
    code: 'auth.token_expired',
    reason: 'expired',
  },
  {
    name: 'nbf in the future',
    attack: (ctx) =>
      Promise.resolve(
        `Bearer ${hmacJwt(headerWith(ctx, {}), claims({ nbf: Math.floor(Date.now() / 1000) + 300 }), TEST_SECRET)}`,
      ),
    code: 'auth.invalid_token',
    reason: 'not_before',
  },
  {
    name: 'missing exp',
    attack: (ctx) =>
      Promise.resolve(
        `Bearer ${hmacJwt(headerWith(ctx, {}), claims({ exp: undefined }), TEST_SECRET)}`,
      ),
    code: 'auth.invalid_token',
    reason: 'missing_exp',
  },
  {
    name: 'wrong iss',
    attack: (ctx) =>
      Promise.resolve(
        `Bearer ${hmacJwt(headerWith(ctx, {}), claims({ iss: 'https://evil.example' }), TEST_SECRET)}`,
      ),
    code: 'auth.invalid_token',
    reason: 'bad_issuer',
  },
  {
    name: 'wrong aud',
    attack: (ctx) =>
      Promise.resolve(
        `Bearer ${hmacJwt(headerWith(ctx, {}), claims({ aud: 'another-api' }), TEST_SECRET)}`,
      ),
    code: 'auth.invalid_token',
    reason: 'bad_audience',
  },
  ...[
    'unknown-kid',
    '../../../../etc/passwd',
    "' OR '1'='1' --",
    '__proto__',
    'constructor',
    '',
  ].map((kid): AttackCase => ({
    name: `kid ${JSON.stringify(kid)}`,
    attack: (ctx) =>
      Promise.resolve(`Bearer ${hmacJwt(headerWith(ctx, { kid }), claims(), TEST_SECRET)}`),
    code: 'auth.invalid_token',
    reason: 'unknown_kid',
  })),
  {
    name: 'no kid',
    attack: (ctx) =>
      Promise.resolve(
        `Bearer ${hmacJwt(headerWith(ctx, { kid: undefined }), claims(), TEST_SECRET)}`,
      ),
    code: 'auth.invalid_token',
    reason: 'missing_kid',
  },
  ...(['jku', 'x5u'] as const).map((name): AttackCase => ({
    name: `${name} header pointing at an attacker URL`,
    route: '/rs',
    attack: () => {
      const token = rsaJwt(
        { typ: 'at+jwt', kid: 'attacker-key', [name]: trapUrl },
        claims(),
        attacker.privateKey,
      );
      return Promise.resolve(`Bearer ${token}`);
    },
    code: 'auth.invalid_token',
    reason: 'unknown_kid',
  })),
  {
    name: 'jwk header embedding the attacker key, with the real kid',
    route: '/rs',
    attack: (ctx) => {
      const token = rsaJwt(
        {
          typ: 'at+jwt',
          kid: ctx.rsKid,
          jwk: attacker.publicKey.export({ format: 'jwk' }),
          jku: trapUrl,
        },
        claims(),
        attacker.privateKey,
      );
      return Promise.resolve(`Bearer ${token}`);
    },
    code: 'auth.invalid_token',
    reason: 'bad_signature',
  },
  {
    name: 'token over 8 KiB (valid signature)',
    attack: (ctx) =>
      Promise.resolve(
        `Bearer ${hmacJwt(headerWith(ctx, {}), claims({ pad: 'x'.repeat(9000) }), TEST_SECRET)}`,
      ),
    code: 'auth.invalid_token',
    reason: 'oversized',
  },
  {
    name: 'crit header',
    attack: (ctx) =>
      Promise.resolve(
        `Bearer ${hmacJwt(headerWith(ctx, { crit: ['b64'], b64: false }), claims(), TEST_SECRET)}`,
      ),
    code: 'auth.invalid_token',
    reason: 'unsupported_header',
  },
  {
    name: 'a plain JWT typ (not an access token)',
    attack: (ctx) =>
      Promise.resolve(`Bearer ${hmacJwt(headerWith(ctx, { typ: 'JWT' }), claims(), TEST_SECRET)}`),
    code: 'auth.invalid_token',
    reason: 'wrong_type',
  },
  // Lifetimes (signed with the service's own key, as a leaked or misused key would sign).
  ...(
    [
      [
        'iat a year ahead',
        () => ({ iat: now() + YEAR, exp: now() + YEAR + 600 }),
        'issued_in_future',
      ],
      [
        'iat 5 s ahead, no tolerance',
        () => ({ iat: now() + 5, exp: now() + 600 }),
        'issued_in_future',
      ],
      ['exp in the year 5000', () => ({ exp: 95_617_584_000 }), 'lifetime_too_long'],
      ['exp - iat one second over accessTtl', () => lifetime(901), 'lifetime_too_long'],
      ['no iat', () => ({ iat: undefined }), 'bad_claims'],
      ['iat a string', () => ({ iat: String(now()) }), 'bad_claims'],
      ['exp a string', () => ({ exp: String(now() + 60) }), 'bad_claims'],
      ['nbf in the future', () => ({ nbf: now() + 60 }), 'not_before'],
      ['another issuer', () => ({ iss: 'https://evil.example.test' }), 'bad_issuer'],
      ['another audience', () => ({ aud: ['other-api'] }), 'bad_audience'],
    ] as const
  ).map(([name, overrides, reason]): AttackCase => ({
    name: `service-signed: ${name}`,
    attack: (ctx) =>
      Promise.resolve(`Bearer ${hmacJwt(headerWith(ctx, {}), claims(overrides()), TEST_SECRET)}`),
    code: 'auth.invalid_token',
    reason,
  })),
  {
    name: 'service-signed: expired',
    attack: (ctx) =>
      Promise.resolve(
        `Bearer ${hmacJwt(headerWith(ctx, {}), claims({ iat: now() - 700, exp: now() - 100 }), TEST_SECRET)}`,
      ),
    code: 'auth.token_expired',
    reason: 'expired',
  },
  {
    name: 'a token without sid (issued before sessions), revoked by its jti',
    attack: async (ctx) => {
      const token = hmacJwt(headerWith(ctx, {}), claims({ jti: 'legacy-revoked' }), TEST_SECRET);
      await ctx.hs.revoke(token);
      return `Bearer ${token}`;
    },
    code: 'auth.token_revoked',
    reason: 'revoked',
  },
  {
    name: 'an access token of a session ended by refresh reuse',
    attack: async (ctx) => {
      const first = await issued(ctx);
      const second = await ctx.hs.refresh(first.refresh_token);
      await expect(ctx.hs.refresh(first.refresh_token)).rejects.toMatchObject({
        code: 'auth.refresh_reused',
      });
      return `Bearer ${second.access_token}`;
    },
    code: 'auth.token_revoked',
    reason: 'session_revoked',
  },
  {
    name: 'token in the query string only',
    attack: async (ctx) => ({ path: `/me?access_token=${(await issued(ctx)).access_token}` }),
    code: 'auth.missing_credentials',
    reason: 'missing_credentials',
  },
  ...[
    ['two tokens', (t: string) => `Bearer ${t} ${t}`],
    ['two tokens, comma', (t: string) => `Bearer ${t},${t}`],
    ['double space', (t: string) => `Bearer  ${t}`],
    ['tab', (t: string) => `Bearer\t${t}`],
    ['no space', (t: string) => `Bearer${t}`],
    ['scheme only', () => 'Bearer'],
    ['Basic scheme', (t: string) => `Basic ${t}`],
    ['Token scheme', (t: string) => `Token ${t}`],
    ['no scheme', (t: string) => t],
    ['JWT scheme', (t: string) => `JWT ${t}`],
  ].map(([name, shape]): AttackCase => ({
    name: `Authorization shape: ${name as string}`,
    attack: async (ctx) => (shape as (t: string) => string)((await issued(ctx)).access_token),
    code: 'auth.invalid_token',
  })),
  {
    name: 'revoked session',
    attack: async (ctx) => {
      const { access_token } = await issued(ctx);
      await ctx.hs.revoke(access_token);
      return `Bearer ${access_token}`;
    },
    code: 'auth.token_revoked',
    reason: 'session_revoked',
  },
  {
    name: 'issued before revoke-all',
    attack: async (ctx) => {
      const { access_token } = await issued(ctx);
      await ctx.hs.revokeAllForUser('victim');
      return `Bearer ${access_token}`;
    },
    code: 'auth.token_revoked',
    reason: 'revoked_all',
  },
  {
    name: 'refresh token used as an access token',
    attack: async (ctx) => `Bearer ${(await issued(ctx)).refresh_token}`,
    code: 'auth.invalid_token',
    reason: 'malformed',
  },
  {
    name: 'access token after logout',
    attack: async (ctx) => {
      const pair = await issued(ctx);
      await ctx.agent
        .post('/logout')
        .set('Authorization', `Bearer ${pair.access_token}`)
        .send({ refresh_token: pair.refresh_token })
        .expect(204);
      return `Bearer ${pair.access_token}`;
    },
    code: 'auth.token_revoked',
    reason: 'session_revoked',
  },
];

describe.each(EXPRESS_VERSIONS)('JWT attack table on %s', (_label, factory) => {
  describe.each(kinds)('with a %s store', (_store, makeStore) => {
    let ctx: Ctx;
    let ran: () => number;

    beforeAll(async () => {
      const store: AuthStore = makeStore();
      const hs = createTokenService({
        secret: TEST_SECRET,
        issuer: ISSUER,
        audience: AUDIENCE,
        store,
      });
      const rs = createTokenService({
        keys: [{ algorithm: 'RS256', privateKey: rsa.privateKey }],
        issuer: ISSUER,
        audience: AUDIENCE,
        store,
      });
      const built = protectedApp(factory, hs);
      built.app.get('/rs', jwtAuth({ tokens: rs }), () => {
        throw new Error('handler must not run');
      });
      const mixed = createTokenService({
        keys: [
          { algorithm: 'HS256', secret: TEST_SECRET },
          { algorithm: 'RS256', publicKey: rsa.publicKey },
        ],
        issuer: ISSUER,
        audience: AUDIENCE,
        store,
      });
      built.app.get('/mixed', jwtAuth({ tokens: mixed }), () => {
        throw new Error('handler must not run');
      });
      ran = built.ran;
      const rsKid = decodePart((await rs.issue({ sub: 'x' })).access_token, 0).kid as string;
      const hsKid = decodePart((await hs.issue({ sub: 'x' })).access_token, 0).kid as string;
      ctx = { hs, rs, hsKid, rsKid, agent: request(built.app) };
    });

    it('lets a valid token through (control)', async () => {
      const { access_token } = await issued(ctx);
      const before = ran();
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        const res = await ctx.agent.get('/me').set('Authorization', `${scheme} ${access_token}`);
        expect(res.status).toBe(200);
        expect(res.body.sub).toBe('victim');
      }
      expect(ran()).toBe(before + 3);
    });

    it.each([
      ['typ application/at+jwt', { typ: 'application/at+jwt' }, {}],
      ['typ AT+JWT (any case)', { typ: 'AT+JWT' }, {}],
      ['exp - iat exactly accessTtl', {}, lifetime(900)],
      ['no sid (issued before sessions)', {}, { jti: 'legacy-live' }],
    ])('accepts a service-signed token with %s', async (_name, header, overrides) => {
      const before = ran();
      const token = hmacJwt(headerWith(ctx, header), claims(overrides), TEST_SECRET);
      const res = await ctx.agent.get('/me').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(200);
      expect(res.body.sub).toBe('user-1');
      expect(ran()).toBe(before + 1);
    });

    it.each(CASES)('refuses $name', async ({ attack, code, reason, route = '/me' }) => {
      const failed = collect('auth.failed');
      const fetchedBefore = fetched;
      const before = ran();
      const made = await attack(ctx);
      const { path, header } =
        typeof made === 'string'
          ? { path: route, header: made }
          : { path: made.path, header: made.header };
      const req = ctx.agent.get(path);
      const res = await (header === undefined ? req : req.set('Authorization', header));
      failed.stop();
      expect(res.status).toBe(401);
      expect(res.body.code).toBe(code);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="api"/);
      expect(ran()).toBe(before);
      expect(fetched).toBe(fetchedBefore);
      expect(failed.events).toHaveLength(1);
      if (reason !== undefined) expect(failed.events[0]!.reason).toBe(reason);
      // The event never carries the token.
      if (header !== undefined && header.length > 20) {
        expect(JSON.stringify(failed.events)).not.toContain(header.slice(-20));
      }
    });

    it('refuses an access token presented as a refresh token', async () => {
      const { access_token } = await issued(ctx);
      const res = await ctx.agent.post('/refresh').send({ refresh_token: access_token });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('auth.invalid_token');
    });

    it('refuses a spent refresh token, revokes the family, and refuses its newest token too', async () => {
      const reused = collect('auth.refresh_reused');
      const first = await issued(ctx);
      const second = (
        await ctx.agent.post('/refresh').send({ refresh_token: first.refresh_token }).expect(200)
      ).body as { refresh_token: string; access_token: string };
      const replay = await ctx.agent.post('/refresh').send({ refresh_token: first.refresh_token });
      expect(replay.status).toBe(401);
      expect(replay.body.code).toBe('auth.refresh_reused');
      const newest = await ctx.agent.post('/refresh').send({ refresh_token: second.refresh_token });
      expect(newest.status).toBe(401);
      expect(newest.body.code).toBe('auth.token_revoked');
      reused.stop();
      expect(reused.events).toHaveLength(1);
      expect(reused.events[0]).toMatchObject({ sub: 'victim', path: '/refresh' });
      expect(JSON.stringify(reused.events)).not.toContain(first.refresh_token);
    });
  });
});

describe('EdDSA key confusion', () => {
  it('refuses an HS256 token signed with the Ed25519 public key', async () => {
    const ed = generateKeyPairSync('ed25519');
    const [, makeStore] = kinds[0]!;
    const tokens = createTokenService({
      keys: [{ algorithm: 'EdDSA', privateKey: ed.privateKey }],
      issuer: ISSUER,
      audience: AUDIENCE,
      store: makeStore(),
    });
    const kid = decodePart((await tokens.issue({ sub: 'x' })).access_token, 0).kid;
    const pem = ed.publicKey.export({ type: 'spki', format: 'pem' });
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${b64(claims())}`;
    const forged = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
    await expect(tokens.verifyAccess(forged)).rejects.toMatchObject({ code: 'auth.invalid_token' });
    // And an EdDSA signature by another key.
    const other = generateKeyPairSync('ed25519');
    const edInput = `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid })}.${b64(claims())}`;
    const wrong = `${edInput}.${cryptoSign(null, Buffer.from(edInput), other.privateKey).toString('base64url')}`;
    await expect(tokens.verifyAccess(wrong)).rejects.toMatchObject({ code: 'auth.invalid_token' });
  });
});
