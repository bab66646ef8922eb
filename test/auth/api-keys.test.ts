import type { Request, Response } from 'express';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import {
  apiKeyAuth,
  BulwarkConfigError,
  createApiKeyService,
  jwtAuth,
  memoryStore,
} from '../../src/index.js';
import type { ApiKeyService, AuthStore } from '../../src/index.js';
import { EXPRESS_VERSIONS, jsonApp, type ExpressFactory } from '../helpers/express.js';
import { collect, hsTokens, interceptStore, storeKinds } from './helpers.js';

const { kinds, close } = await storeKinds();
afterAll(close);

function clock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

function keyApp(factory: ExpressFactory, keys: ApiKeyService) {
  const app = jsonApp(factory);
  let ran = 0;
  app.get('/v1/whoami', apiKeyAuth({ keys }), (req: Request, res: Response) => {
    ran++;
    res.json(req.apiKey);
  });
  return { agent: request(app), ran: () => ran };
}

describe.each(EXPRESS_VERSIONS)('apiKeyAuth on %s', (_label, factory) => {
  describe.each(kinds)('with a %s store', (_store, makeStore) => {
    const time = clock();
    const keys = createApiKeyService({ store: makeStore(), now: time.now });
    const { agent, ran } = keyApp(factory, keys);

    async function refused(
      headers: Record<string, string>,
      code: string,
      reason?: string,
    ): Promise<void> {
      const failed = collect('auth.failed');
      const before = ran();
      let req = agent.get('/v1/whoami');
      for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
      const res = await req;
      failed.stop();
      expect(res.status).toBe(401);
      expect(res.body.code).toBe(code);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="api"/);
      expect(ran()).toBe(before);
      if (reason !== undefined) expect(failed.events.map((e) => e.reason)).toEqual([reason]);
      for (const value of Object.values(headers))
        expect(JSON.stringify(failed.events)).not.toContain(value);
    }

    it('issues a key once and accepts it from X-API-Key or Bearer', async () => {
      const issued = await keys.issue({ name: 'ci', scopes: ['complete', 'complete'] });
      expect(issued.key).toMatch(/^bwk_[0-9a-f]{16}_[0-9a-f]{64}$/);
      expect(issued.key.startsWith(`bwk_${issued.id}_`)).toBe(true);
      for (const [name, value] of [
        ['X-API-Key', issued.key],
        ['Authorization', `Bearer ${issued.key}`],
        ['Authorization', `bearer ${issued.key}`],
      ] as const) {
        const res = await agent.get('/v1/whoami').set(name, value);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ id: issued.id, scopes: ['complete'] });
      }
    });

    it('lists keys without secrets or hashes', async () => {
      const issued = await keys.issue({ name: 'listed', scopes: ['a'] });
      const listed = await keys.list();
      const entry = listed.find((k) => k.id === issued.id);
      expect(entry).toMatchObject({ name: 'listed', scopes: ['a'], expiresAt: null });
      const text = JSON.stringify(listed);
      expect(text).not.toContain(issued.key.slice(21));
      expect(text).not.toMatch(/hash|[0-9a-f]{64}/);
    });

    it('refuses missing, malformed, unknown, wrong and ambiguous keys', async () => {
      const issued = await keys.issue({ name: 'victim' });
      const wrongSecret = `${issued.key.slice(0, -4)}0000`;
      await refused({}, 'auth.missing_credentials', 'missing_credentials');
      await refused({ 'X-API-Key': 'bwk_short' }, 'auth.invalid_api_key', 'malformed');
      await refused(
        { 'X-API-Key': `bwk_0000000000000000_${'a'.repeat(64)}` },
        'auth.invalid_api_key',
        'unknown_key',
      );
      await refused({ 'X-API-Key': wrongSecret }, 'auth.invalid_api_key', 'wrong_secret');
      await refused({ Authorization: `Bearer  ${issued.key}` }, 'auth.missing_credentials');
      await refused(
        { 'X-API-Key': issued.key, Authorization: `Bearer ${issued.key}` },
        'auth.invalid_api_key',
        'ambiguous_credentials',
      );
    });

    it('never reads a key from the query string', async () => {
      const issued = await keys.issue({ name: 'query' });
      const res = await agent.get(`/v1/whoami?api_key=${issued.key}&key=${issued.key}`);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('auth.missing_credentials');
    });

    it('rotates with a grace period: both keys work during it, only the new one after', async () => {
      const issued = await keys.issue({ name: 'rotating' });
      const rotated = await keys.rotate(issued.id, { graceSeconds: 60 });
      expect(rotated?.id).toBe(issued.id);
      expect(rotated?.key).not.toBe(issued.key);
      expect((await agent.get('/v1/whoami').set('X-API-Key', issued.key)).status).toBe(200);
      expect((await agent.get('/v1/whoami').set('X-API-Key', rotated!.key)).status).toBe(200);
      time.advance(60_000);
      await refused({ 'X-API-Key': issued.key }, 'auth.invalid_api_key', 'grace_expired');
      expect((await agent.get('/v1/whoami').set('X-API-Key', rotated!.key)).status).toBe(200);
    });

    it('rotates without grace: the old key stops at once', async () => {
      const issued = await keys.issue({ name: 'hard-rotation' });
      const rotated = await keys.rotate(issued.id);
      await refused({ 'X-API-Key': issued.key }, 'auth.invalid_api_key');
      expect((await agent.get('/v1/whoami').set('X-API-Key', rotated!.key)).status).toBe(200);
      expect(await keys.rotate('0000000000000000', { graceSeconds: 5 })).toBeUndefined();
    });

    it('revokes at once, including a key still in its grace period', async () => {
      const issued = await keys.issue({ name: 'revoked' });
      const rotated = await keys.rotate(issued.id, { graceSeconds: 3600 });
      expect(await keys.revoke(issued.id)).toBe(true);
      await refused({ 'X-API-Key': issued.key }, 'auth.invalid_api_key', 'unknown_key');
      await refused({ 'X-API-Key': rotated!.key }, 'auth.invalid_api_key', 'unknown_key');
      expect((await keys.list()).some((k) => k.id === issued.id)).toBe(false);
      expect(await keys.revoke(issued.id)).toBe(false);
    });

    it('refuses a key past its expiry', async () => {
      const issued = await keys.issue({ name: 'short-lived', expiresAt: time.now() + 1000 });
      expect((await agent.get('/v1/whoami').set('X-API-Key', issued.key)).status).toBe(200);
      time.advance(1000);
      await refused({ 'X-API-Key': issued.key }, 'auth.invalid_api_key');
    });
  });
});

describe('API key service', () => {
  /** A store that records writes of last-used times. */
  function lastUsedWrites(): { store: AuthStore; writes: () => number } {
    const inner = memoryStore();
    let writes = 0;
    const store = interceptStore(inner, (method, args, call) => {
      if (method === 'set' && String(args[0]).startsWith('aku:')) writes++;
      return call();
    });
    return { store, writes: () => writes };
  }

  it('writes last-used at most once per interval, and lists it', async () => {
    const time = clock();
    const { store, writes } = lastUsedWrites();
    const keys = createApiKeyService({ store, now: time.now });
    const issued = await keys.issue({ name: 'busy' });
    for (let i = 0; i < 50; i++) await keys.verify(issued.key);
    expect(writes()).toBe(1);
    time.advance(60_000);
    await keys.verify(issued.key);
    expect(writes()).toBe(2);
    const [listed] = await keys.list();
    expect(listed?.lastUsedAt?.getTime()).toBe(time.now());
  });

  it('keeps only the SHA-256 of a secret in the store', async () => {
    const values: string[] = [];
    const inner = memoryStore();
    const store = interceptStore(inner, (_method, args, call) => {
      values.push(JSON.stringify(args));
      return call();
    });
    const keys = createApiKeyService({ store });
    const issued = await keys.issue({ name: 'hashed' });
    const rotated = await keys.rotate(issued.id, { graceSeconds: 10 });
    const secrets = [issued.key, rotated!.key].map((k) => k.slice(k.lastIndexOf('_') + 1));
    for (const secret of secrets) expect(values.join('\n')).not.toContain(secret);
  });

  it.each([
    [{ name: '' }],
    [{ name: 5 }],
    [{ name: 'x', scopes: 'a' }],
    [{ name: 'x', scopes: ['has space'] }],
    [{ name: 'x', expiresAt: 0 }],
    [{ name: 'x', expiresAt: Number.NaN }],
    [{ name: 'x', expiresAt: '2030-01-01' }],
    [null],
  ])('refuses to issue %j', async (options) => {
    const keys = createApiKeyService({ store: memoryStore() });
    await expect(keys.issue(options as never)).rejects.toMatchObject({ code: 'validation.failed' });
  });

  it.each([[-1], [Number.NaN], [Infinity], ['5'], [31 * 86_400]])(
    'refuses graceSeconds %j',
    async (grace) => {
      const keys = createApiKeyService({ store: memoryStore() });
      const { id } = await keys.issue({ name: 'g' });
      await expect(keys.rotate(id, { graceSeconds: grace as number })).rejects.toMatchObject({
        code: 'validation.failed',
      });
    },
  );

  it.each([
    [{}],
    [{ store: {} }],
    [{ store: memoryStore(), lastUsedIntervalMs: -1 }],
    [{ store: memoryStore(), lastUsedIntervalMs: '60s' }],
    [{ store: memoryStore(), lastUsedIntervalMs: Number.NaN }],
    [{ store: memoryStore(), now: 'now' }],
    [{ store: memoryStore(), lastUsed: 1 }],
  ])('createApiKeyService refuses %j', (options) => {
    expect(() => createApiKeyService(options as never)).toThrow(BulwarkConfigError);
  });
});

describe.each(EXPRESS_VERSIONS)('a failing store on %s', (_label, factory) => {
  it('answers 503 auth.unavailable, never lets the request through', async () => {
    const healthy = memoryStore();
    const tokens = hsTokens(healthy);
    const keys = createApiKeyService({ store: healthy });
    const issued = await keys.issue({ name: 'k' });
    const { access_token } = await tokens.issue({ sub: 'u' });
    const broken = new Proxy(healthy, {
      get: () => () => Promise.reject(new Error('store down')),
    });
    const app = jsonApp(factory);
    let ran = 0;
    const handler = (_req: Request, res: Response) => {
      ran++;
      res.end();
    };
    app.get('/jwt', jwtAuth({ tokens: hsTokens(broken) }), handler);
    app.get('/key', apiKeyAuth({ keys: createApiKeyService({ store: broken }) }), handler);
    const failed = collect('auth.failed');
    const jwtRes = await request(app).get('/jwt').set('Authorization', `Bearer ${access_token}`);
    const keyRes = await request(app).get('/key').set('X-API-Key', issued.key);
    failed.stop();
    for (const res of [jwtRes, keyRes]) {
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('auth.unavailable');
      expect(JSON.stringify(res.body)).not.toContain('store down');
    }
    expect(ran).toBe(0);
    expect(failed.events.map((e) => e.reason)).toEqual(['store_unavailable', 'store_unavailable']);
  });
});
