import type { Request, Response } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import {
  authRouter,
  createTokenService,
  errorHandler,
  jwtAuth,
  memoryStore,
  type UserAdapter,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express.js';
import { AUDIENCE, collect, ISSUER, TEST_SECRET } from './helpers.js';

const NOW = Date.UTC(2026, 0, 1);
const NO_USERS: UserAdapter = {
  findByUsername: () => Promise.resolve(undefined),
  findById: () => Promise.resolve(undefined),
};

function build(factory: ExpressFactory) {
  let time = NOW;
  const tokens = createTokenService({
    secret: TEST_SECRET,
    issuer: ISSUER,
    audience: AUDIENCE,
    store: memoryStore(),
    now: () => time,
  });
  const app = factory();
  app.use('/auth', authRouter({ tokens, users: NO_USERS, loginLimiter: false }));
  let ran = 0;
  app.get('/me', jwtAuth({ tokens }), (_req: Request, res: Response) => {
    ran++;
    res.json({ ok: true });
  });
  app.use(errorHandler());
  return {
    agent: request(app),
    tokens,
    ran: () => ran,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

const ACCESS_INVALID = 'The access token is not valid.';

describe.each(EXPRESS_VERSIONS)('401 details on %s', (_label, factory) => {
  it.each([
    ['a bad signature', (token: string) => `${token.slice(0, -2)}AA`, 'bad_signature'],
    ['a truncated token', (token: string) => token.split('.').slice(0, 2).join('.'), 'malformed'],
    [
      'an unknown kid',
      (token: string) => {
        const [, payload, signature] = token.split('.');
        const header = Buffer.from(
          JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: 'nope' }),
        ).toString('base64url');
        return `${header}.${payload ?? ''}.${signature ?? ''}`;
      },
      'unknown_kid',
    ],
  ])('answers %s with one generic detail that names no check', async (_case, spoil, reason) => {
    const { agent, tokens, ran } = build(factory);
    const { access_token } = await tokens.issue({ sub: 'u-1', roles: [] });
    const failed = collect('auth.failed');
    const res = await agent.get('/me').set('Authorization', `Bearer ${spoil(access_token)}`);
    failed.stop();
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'auth.invalid_token', detail: ACCESS_INVALID });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
    expect(ran()).toBe(0);
    // The reason stays in the event, for the operator.
    expect(failed.events.map((e) => e.reason)).toEqual([reason]);
  });

  it.each([
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['two spaces', 'Bearer  abc'],
  ])('answers %s with the header form to use', async (_case, header) => {
    const { agent, ran } = build(factory);
    const res = await agent.get('/me').set('Authorization', header);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({
      code: 'auth.invalid_token',
      detail: 'Send one access token as `Authorization: Bearer <token>`.',
    });
    expect(res.text).not.toContain('dXNlcjpwYXNz');
    expect(ran()).toBe(0);
  });

  it('says an expired token has expired', async () => {
    const { agent, tokens, ran, advance } = build(factory);
    const { access_token, expires_in } = await tokens.issue({ sub: 'u-1', roles: [] });
    advance((expires_in + 1) * 1000);
    const res = await agent.get('/me').set('Authorization', `Bearer ${access_token}`);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({
      code: 'auth.token_expired',
      detail: 'The access token has expired.',
    });
    expect(ran()).toBe(0);
  });

  it('says a revoked session has ended', async () => {
    const { agent, tokens, ran } = build(factory);
    const { access_token } = await tokens.issue({ sub: 'u-1', roles: [] });
    await tokens.revoke(access_token);
    const res = await agent.get('/me').set('Authorization', `Bearer ${access_token}`);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({
      code: 'auth.token_revoked',
      detail: 'The session has ended.',
    });
    expect(ran()).toBe(0);
  });

  it.each([
    ['an unknown refresh token', () => `fam.${'a'.repeat(43)}`],
    ['a refresh token with no family', () => 'a'.repeat(43)],
  ])('refuses %s with a refresh-token detail', async (_case, token) => {
    const { agent } = build(factory);
    const res = await agent.post('/auth/refresh').send({ refresh_token: token() });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({
      code: 'auth.invalid_token',
      detail: 'The refresh token is not valid.',
    });
  });

  it('carries the detail on an AuthFailure thrown to the error handler', async () => {
    const { tokens } = build(factory);
    const app = factory();
    let ran = 0;
    app.get('/direct', (req: Request, _res: Response, next) => {
      tokens.verifyAccess(String(req.headers['x-token'])).then(() => {
        ran++;
      }, next);
    });
    app.use(errorHandler());
    const res = await request(app).get('/direct').set('X-Token', 'not.a.token');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'auth.invalid_token', detail: ACCESS_INVALID });
    expect(ran).toBe(0);
  });
});
