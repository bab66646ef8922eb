import type { Request, Response } from 'express';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import {
  apiKeyAuth,
  BulwarkConfigError,
  createApiKeyService,
  jwtAuth,
  memoryStore,
  requireRole,
  requireScope,
} from '../../src/index.js';
import type { AuthStore, TokenService } from '../../src/index.js';
import { EXPRESS_VERSIONS, jsonApp, type ExpressFactory } from '../helpers/express.js';
import { collect, hsTokens, storeKinds } from './helpers.js';

const { kinds, close } = await storeKinds();
afterAll(close);

function app(factory: ExpressFactory, tokens: TokenService, store: AuthStore) {
  const keys = createApiKeyService({ store });
  const server = jsonApp(factory);
  let ran = 0;
  const handler = (req: Request, res: Response) => {
    ran++;
    res.json({ auth: req.auth ?? null, apiKey: req.apiKey ?? null });
  };
  server.get('/optional', jwtAuth({ tokens, credentialsRequired: false }), handler);
  server.get('/realm', jwtAuth({ tokens, realm: 'example realm' }), handler);
  server.get('/admin', jwtAuth({ tokens }), requireRole('admin', 'owner'), handler);
  server.get('/write', jwtAuth({ tokens }), requireScope('notes:read', 'notes:write'), handler);
  server.get('/key-write', apiKeyAuth({ keys }), requireScope('notes:write'), handler);
  server.get(
    '/either',
    jwtAuth({ tokens, credentialsRequired: false }),
    apiKeyAuth({ keys, credentialsRequired: false }),
    requireScope('notes:write'),
    handler,
  );
  server.get('/role-only', requireRole('admin'), handler);
  return { server, keys, ran: () => ran };
}

describe.each(EXPRESS_VERSIONS)('jwtAuth and authorization on %s', (_label, factory) => {
  describe.each(kinds)('with a %s store', (_store, makeStore) => {
    const store = makeStore();
    const tokens = hsTokens(store);
    const built = app(factory, tokens, store);
    const agent = request(built.server);
    const bearer = async (subject: Parameters<TokenService['issue']>[0]) =>
      `Bearer ${(await tokens.issue(subject)).access_token}`;

    it('challenges a missing token without an error attribute, and reports it', async () => {
      const failed = collect('auth.failed');
      const before = built.ran();
      const res = await agent.get('/admin');
      failed.stop();
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('auth.missing_credentials');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
      expect(failed.events.map((e) => e.reason)).toEqual(['missing_credentials']);
      expect(built.ran()).toBe(before);
    });

    it('names the configured realm and invalid_token for a refused token', async () => {
      const res = await agent.get('/realm').set('Authorization', 'Bearer abc.def.ghi');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="example realm", error="invalid_token"',
      );
    });

    it('lets anonymous requests through when credentials are optional, but not bad tokens', async () => {
      const anonymous = await agent.get('/optional');
      expect(anonymous.status).toBe(200);
      expect(anonymous.body.auth).toBeNull();
      const before = built.ran();
      const bad = await agent.get('/optional').set('Authorization', 'Bearer abc.def.ghi');
      expect(bad.status).toBe(401);
      expect(bad.body.code).toBe('auth.invalid_token');
      const basic = await agent.get('/optional').set('Authorization', 'Basic dXNlcjpwYXNz');
      expect(basic.status).toBe(401);
      expect(built.ran()).toBe(before);
      const good = await agent.get('/optional').set('Authorization', await bearer({ sub: 'u' }));
      expect(good.body.auth).toMatchObject({ sub: 'u', roles: [] });
    });

    it('requireRole: any listed role passes, others get 403 and an authz.denied event', async () => {
      expect(
        (
          await agent
            .get('/admin')
            .set('Authorization', await bearer({ sub: 'a', roles: ['owner'] }))
        ).status,
      ).toBe(200);
      const denied = collect('authz.denied');
      const before = built.ran();
      const res = await agent
        .get('/admin')
        .set('Authorization', await bearer({ sub: 'b', roles: ['user'] }));
      denied.stop();
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('auth.forbidden');
      expect(res.body.detail).toBe('Requires one of the roles: admin, owner.');
      expect(built.ran()).toBe(before);
      expect(denied.events[0]).toMatchObject({
        reason: 'missing_role',
        sub: 'b',
        required: ['admin', 'owner'],
      });
    });

    it('a route for people or programs answers 401 when neither authenticated', async () => {
      const before = built.ran();
      const res = await agent.get('/either');
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('auth.missing_credentials');
      expect(built.ran()).toBe(before);
      const token = await agent
        .get('/either')
        .set('Authorization', await bearer({ sub: 'p', scope: 'notes:write' }));
      expect(token.status).toBe(200);
    });

    it('requireRole without authentication answers 401, not 403', async () => {
      const before = built.ran();
      const res = await agent.get('/role-only');
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('auth.missing_credentials');
      expect(built.ran()).toBe(before);
    });

    it.each([
      ['a scope string with both', { scope: 'notes:read notes:write' }, 200],
      ['a scopes array with both', { scopes: ['notes:write', 'notes:read', 'x'] }, 200],
      ['only one of two', { scope: 'notes:write' }, 403],
      ['a look-alike', { scope: 'notes:read notes:writes' }, 403],
      ['no scope claim', {}, 403],
    ])('requireScope with %s -> %i', async (_name, extra, status) => {
      const before = built.ran();
      const res = await agent
        .get('/write')
        .set('Authorization', await bearer({ sub: 's', ...extra }));
      expect(res.status).toBe(status);
      if (status === 403) {
        expect(res.body.code).toBe('auth.forbidden');
        expect(res.body.detail).toMatch(/^Requires the scopes: notes:\w+, notes:\w+\.$/);
        expect(built.ran()).toBe(before);
      }
    });

    it('requireScope reads an API key scopes; jwtAuth leaves Bearer bwk_ keys to apiKeyAuth', async () => {
      const writer = await built.keys.issue({ name: 'writer', scopes: ['notes:write'] });
      const reader = await built.keys.issue({ name: 'reader', scopes: ['notes:read'] });
      expect((await agent.get('/key-write').set('X-API-Key', writer.key)).status).toBe(200);
      const res = await agent.get('/either').set('Authorization', `Bearer ${writer.key}`);
      expect(res.status).toBe(200);
      expect(res.body.apiKey).toEqual({ id: writer.id, scopes: ['notes:write'] });
      const denied = await agent.get('/key-write').set('X-API-Key', reader.key);
      expect(denied.status).toBe(403);
      // A required jwtAuth refuses an API key instead of passing it through.
      const strict = await agent.get('/admin').set('Authorization', `Bearer ${writer.key}`);
      expect(strict.status).toBe(401);
      expect(strict.body.code).toBe('auth.invalid_token');
    });
  });
});

describe('jwtAuth on the in-memory fast path', () => {
  it('answers from a memory store without a promise, and honours methods replaced later', async () => {
    const store = memoryStore();
    const tokens = hsTokens(store);
    const server = jsonApp(EXPRESS_VERSIONS[0][1]);
    server.get('/me', jwtAuth({ tokens }), (req: Request, res: Response) => {
      res.json({ sub: req.auth?.sub ?? null });
    });
    const pair = await tokens.issue({ sub: 'u' });
    const auth = `Bearer ${pair.access_token}`;
    expect((await request(server).get('/me').set('Authorization', auth)).body).toEqual({
      sub: 'u',
    });

    await tokens.revoke(pair.access_token);
    const revoked = await request(server).get('/me').set('Authorization', auth);
    expect(revoked.status).toBe(401);
    expect(revoked.body.code).toBe('auth.token_revoked');

    const fresh = `Bearer ${(await tokens.issue({ sub: 'u' })).access_token}`;
    store.getMany = () => Promise.reject(new Error('down'));
    const down = await request(server).get('/me').set('Authorization', fresh);
    expect(down.status).toBe(503);
    expect(down.body.code).toBe('auth.unavailable');

    let seen = 0;
    tokens.verifyAccess = (token) => {
      seen++;
      return Promise.reject(new Error(`not ${token.slice(0, 0)}expected`));
    };
    const replaced = await request(server).get('/me').set('Authorization', fresh);
    expect(seen).toBe(1);
    expect(replaced.status).toBe(500);
  });
});

describe('middleware options', () => {
  const tokens = hsTokens(memoryStore());
  const keys = createApiKeyService({ store: memoryStore() });
  it.each([
    [{}],
    [{ tokens: {} }],
    [{ tokens, credentialsRequired: 'no' }],
    [{ tokens, credentialsRequired: null }],
    [{ tokens, realm: 'a"b' }],
    [{ tokens, realm: 5 }],
    [{ tokens, credentialRequired: false }],
    [null],
  ])('jwtAuth refuses %j', (options) => {
    expect(() => jwtAuth(options as never)).toThrow(BulwarkConfigError);
  });

  it.each([
    [{}],
    [{ keys: {} }],
    [{ keys, credentialsRequired: 1 }],
    [{ keys, realm: '' }],
    [{ keys, key: keys }],
  ])('apiKeyAuth refuses %j', (options) => {
    expect(() => apiKeyAuth(options as never)).toThrow(BulwarkConfigError);
  });

  it.each([[[]], [['']], [['a b']], [[5]], [[null]], [[{}]]])(
    'requireRole and requireScope refuse %j',
    (names) => {
      expect(() => requireRole(...(names as string[]))).toThrow(BulwarkConfigError);
      expect(() => requireScope(...(names as string[]))).toThrow(BulwarkConfigError);
    },
  );
});
