import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApiKeyService,
  createPostgresPool,
  createSecretBox,
  createTokenService,
  postgresStore,
} from '../../src/index.js';
import type { BulwarkPostgresPool, PostgresAuthStore, TokenService } from '../../src/index.js';
import { AUDIENCE, ISSUER, TEST_SECRET } from '../auth/helpers.js';
import { createTestDatabase, requirePostgres, uniqueSchema } from '../helpers/postgres.js';
import type { TestDatabase } from '../helpers/postgres.js';

const hasPostgres = await requirePostgres();
const FAKE_ENCRYPTION_KEY = '0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0';

/** What the token and API-key services leave in PostgreSQL, checked through a second pool as a restart would. */
describe.runIf(hasPostgres)('token and API-key services on postgresStore', () => {
  let db: TestDatabase;
  let pool: BulwarkPostgresPool;
  let restarted: BulwarkPostgresPool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPostgresPool(db.url);
    restarted = createPostgresPool(db.url);
  });
  afterAll(async () => {
    await pool.end();
    await restarted.end();
    await db.drop();
  });

  async function stores(): Promise<[PostgresAuthStore, PostgresAuthStore]> {
    const schema = uniqueSchema('svc');
    const first = postgresStore(pool, { schema });
    await first.migrate();
    return [first, postgresStore(restarted, { schema })];
  }

  const tokens = (store: PostgresAuthStore): TokenService =>
    createTokenService({ secret: TEST_SECRET, issuer: ISSUER, audience: AUDIENCE, store });

  it('keeps sessions across a restart: refresh, reuse detection, logout and revoke-all', async () => {
    const [before, after] = await stores();
    const pair = await tokens(before).issue({ sub: 'u1', roles: ['user'] });
    const rotated = await tokens(after).refresh(pair.refresh_token);
    await expect(tokens(before).refresh(pair.refresh_token)).rejects.toMatchObject({
      code: 'auth.refresh_reused',
    });
    // The reuse ended the family, so the successor is refused too.
    await expect(tokens(after).refresh(rotated.refresh_token)).rejects.toMatchObject({
      code: 'auth.token_revoked',
    });

    const session = await tokens(before).issue({ sub: 'u2', roles: ['user'] });
    await tokens(before).revoke(session.access_token, session.refresh_token);
    await expect(tokens(after).verifyAccess(session.access_token)).rejects.toMatchObject({
      code: 'auth.token_revoked',
    });
    await expect(tokens(after).refresh(session.refresh_token)).rejects.toMatchObject({
      code: 'auth.token_revoked',
    });

    const one = await tokens(before).issue({ sub: 'u3', roles: ['user'] });
    const two = await tokens(before).issue({ sub: 'u3', roles: ['user'] });
    await tokens(before).revokeAllForUser('u3');
    for (const pairOf of [one, two]) {
      await expect(tokens(after).verifyAccess(pairOf.access_token)).rejects.toMatchObject({
        code: 'auth.token_revoked',
      });
      await expect(tokens(after).refresh(pairOf.refresh_token)).rejects.toMatchObject({
        code: 'auth.token_revoked',
      });
    }
    const later = await tokens(after).issue({ sub: 'u3', roles: ['user'] });
    expect((await tokens(before).verifyAccess(later.access_token)).sub).toBe('u3');
  });

  it('keeps API keys, rotation with grace and revocation across a restart', async () => {
    const [before, after] = await stores();
    const keys = createApiKeyService({ store: before });
    const issued = await keys.issue({ name: 'ci', scopes: ['read'] });
    const again = createApiKeyService({ store: after });
    expect(await again.verify(issued.key)).toEqual({ id: issued.id, scopes: ['read'] });

    const rotated = await keys.rotate(issued.id, { graceSeconds: 60 });
    expect(rotated).toBeDefined();
    expect((await again.verify(issued.key)).id).toBe(issued.id);
    expect((await again.verify(rotated!.key)).id).toBe(issued.id);

    const noGrace = await keys.rotate(issued.id, { graceSeconds: 0 });
    await expect(again.verify(rotated!.key)).rejects.toMatchObject({
      code: 'auth.invalid_api_key',
    });
    expect((await again.list()).map((k) => k.id)).toEqual([issued.id]);

    expect(await again.revoke(issued.id)).toBe(true);
    await expect(keys.verify(noGrace!.key)).rejects.toMatchObject({
      code: 'auth.invalid_api_key',
    });
  });

  it('stores none of the issued secrets in plain text in any table', async () => {
    const [store] = await stores();
    const service = tokens(store);
    const keys = createApiKeyService({ store });
    const pairs = [
      await service.issue({ sub: 'dump-user', roles: ['admin'] }),
      await service.issue({ sub: 'dump-user-2', roles: ['user'] }),
    ];
    const refreshed = await service.refresh(pairs[0]!.refresh_token);
    await service.revoke(pairs[1]!.access_token, pairs[1]!.refresh_token);
    const apiKey = await keys.issue({ name: 'dump', scopes: ['read'] });
    const rotatedKey = await keys.rotate(apiKey.id, { graceSeconds: 30 });
    await keys.verify(rotatedKey!.key);

    const providerKey = 'sk-FAKE-provider-key-0123456789abcdefghij';
    const box = createSecretBox({ key: FAKE_ENCRYPTION_KEY });
    await store.set('provider:openai', box.seal(providerKey, { aad: 'provider:openai' }));

    const secrets = [
      ...pairs.flatMap((p) => [p.access_token, p.refresh_token]),
      refreshed.access_token,
      refreshed.refresh_token,
      apiKey.key,
      rotatedKey!.key,
      providerKey,
      TEST_SECRET,
      FAKE_ENCRYPTION_KEY,
    ];
    // Each API key's and refresh token's secret part alone, and each JWT's signature alone.
    const refreshTokens = [...pairs.map((p) => p.refresh_token), refreshed.refresh_token];
    const parts = [
      ...refreshTokens.map((t) => t.split('.').at(-1)!),
      ...[apiKey.key, rotatedKey!.key].map((k) => k.split('_').slice(2).join('_')),
      ...[...pairs.map((p) => p.access_token), refreshed.access_token].map((t) => t.split('.')[2]!),
    ];

    const { rows: tables } = await pool.query({
      text: `SELECT table_schema, table_name FROM information_schema.tables
        WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`,
    });
    const dump: string[] = [];
    for (const table of tables) {
      const name = `"${String(table.table_schema)}"."${String(table.table_name)}"`;
      const { rows } = await pool.query({
        text: `SELECT row_to_json(t)::text AS row FROM ${name} t`,
      });
      dump.push(...rows.map((r) => String(r.row)));
    }
    const text = dump.join('\n');
    // The dump is not empty: families, tokens, the denylist, key records.
    expect(dump.length).toBeGreaterThan(8);
    for (const secret of [...secrets, ...parts]) expect(text).not.toContain(secret);
    const sealed = String(await store.get('provider:openai'));
    expect(box.open(sealed, { aad: 'provider:openai' })).toBe(providerKey);
  });
});
