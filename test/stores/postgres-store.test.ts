import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import {
  BulwarkConfigError,
  createPostgresPool,
  pingPostgres,
  postgresStore,
  securityEvents,
} from '../../src/index.js';
import type {
  BulwarkPostgresPool,
  PostgresAuthStore,
  RefreshFamilyRef,
  SecurityEvent,
} from '../../src/index.js';
import { LATEST_SCHEMA_VERSION } from '../../src/stores/postgres-migrations.js';
import {
  createTestDatabase,
  PostgresRelay,
  requirePostgres,
  uniqueSchema,
  type TestDatabase,
} from '../helpers/postgres.js';
import { freePort } from '../helpers/redis.js';
import { authStoreSuite } from './auth-store-suite.js';

const hasPostgres = await requirePostgres();
const WAIT = { timeout: 5000, interval: 20 };

function ref(id: string): RefreshFamilyRef {
  return { familyKey: `rf:{${id}}`, revokedKey: `rs:{${id}}`, revokedTtlMs: 60_000 };
}

describe.runIf(hasPostgres)('postgresStore', () => {
  let db: TestDatabase;
  let pool: BulwarkPostgresPool;
  const pools: BulwarkPostgresPool[] = [];

  function newPool(url = db.url, options?: Parameters<typeof createPostgresPool>[1]) {
    const made = createPostgresPool(url, options);
    pools.push(made);
    return made;
  }

  async function migrated(schema = uniqueSchema('s'), on = pool): Promise<PostgresAuthStore> {
    const store = postgresStore(on, { schema });
    await store.migrate();
    return store;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = newPool();
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await db.drop();
  });

  authStoreSuite('postgresStore', async () => ({
    store: await migrated(),
    advance: (ms) => new Promise<void>((r) => setTimeout(r, ms)),
    shortTtlMs: 150,
  }));

  it('lets exactly one of 20 concurrent rotations win across two pools', async () => {
    const schema = uniqueSchema('race');
    const first = await migrated(schema);
    const second = postgresStore(newPool(), { schema });
    await first.createRefreshFamily(
      { familyKey: ref('race').familyKey, data: 'race-data', ttlMs: 60_000 },
      { tokenKey: 't', ttlMs: 60_000 },
    );
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? first : second).rotateRefreshToken(ref('race'), 't', {
          tokenKey: `t-${String(i)}`,
          ttlMs: 60_000,
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'rotated')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'reused')).toHaveLength(19);
    // The reuse revoked the family: the winner's successor is dead too.
    const winner = results.findIndex((r) => r.status === 'rotated');
    expect(
      (
        await second.rotateRefreshToken(ref('race'), `t-${String(winner)}`, {
          tokenKey: 'x',
          ttlMs: 60_000,
        })
      ).status,
    ).toBe('revoked');
    expect(await first.get(ref('race').revokedKey)).toBe('1');
  });

  it('lets exactly one of 20 concurrent setIfAbsent calls across two pools write', async () => {
    const schema = uniqueSchema('nx');
    const first = await migrated(schema);
    const second = postgresStore(newPool(), { schema });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? first : second).setIfAbsent('once', String(i), 60_000),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('keeps what it stored across a new pool (a restart)', async () => {
    const schema = uniqueSchema('restart');
    const before = await migrated(schema);
    await before.set('kept', 'v', 60_000);
    await before.createRefreshFamily(
      { familyKey: ref('f').familyKey, data: 'd', ttlMs: 60_000 },
      { tokenKey: 't1', ttlMs: 60_000 },
    );
    await before.rotateRefreshToken(ref('f'), 't1', { tokenKey: 't2', ttlMs: 60_000 });
    const fresh = newPool();
    const after = postgresStore(fresh, { schema });
    expect((await after.migrate()).applied).toEqual([]);
    expect(await after.get('kept')).toBe('v');
    expect(
      (await after.rotateRefreshToken(ref('f'), 't2', { tokenKey: 't3', ttlMs: 60_000 })).status,
    ).toBe('rotated');
    expect(
      (await after.rotateRefreshToken(ref('f'), 't1', { tokenKey: 't4', ttlMs: 60_000 })).status,
    ).toBe('reused');
  });

  it('prunes expired rows and keeps live ones', async () => {
    const store = await migrated();
    await store.set('short', 'v', 50);
    await store.set('long', 'v', 60_000);
    await store.set('forever', 'v');
    await store.createRefreshFamily(
      { familyKey: 'fs', data: 'd', ttlMs: 50 },
      { tokenKey: 'ts', ttlMs: 60_000 },
    );
    await store.createRefreshFamily(
      { familyKey: 'fl', data: 'd', ttlMs: 60_000 },
      { tokenKey: 'tl', ttlMs: 50 },
    );
    await new Promise((r) => setTimeout(r, 120));
    // short, fs (and ts with it, by cascade or by its capped lifetime) and tl.
    expect(await store.prune()).toBeGreaterThanOrEqual(3);
    expect(await store.prune()).toBe(0);
    expect(await store.getMany(['short', 'long', 'forever'])).toEqual([undefined, 'v', 'v']);
  });

  it('sweeps expired rows in the background after a write', async () => {
    const schema = uniqueSchema('sweep');
    const store = postgresStore(pool, { schema, sweepIntervalMs: 1 });
    await store.migrate();
    await store.set('old', 'v', 20);
    await new Promise((r) => setTimeout(r, 60));
    await store.set('trigger', 'v', 60_000);
    await vi.waitUntil(async () => {
      const { rows } = await pool.query({
        text: `SELECT count(*)::int AS n FROM "${schema}".kv WHERE key = 'old'`,
      });
      return Number(rows[0]?.n) === 0;
    }, WAIT);
  });

  it('answers every request-path query from an index', async () => {
    const schema = uniqueSchema('plan');
    await migrated(schema);
    const client = await pool.connect();
    try {
      await client.query({ text: 'SET enable_seqscan = off' });
      const s = `"${schema}"`;
      const queries = [
        `SELECT value FROM ${s}.kv WHERE key = 'a' AND (expires_at IS NULL OR expires_at > now())`,
        `SELECT key, value FROM ${s}.kv WHERE key = ANY(ARRAY['a','b']) AND (expires_at IS NULL OR expires_at > now())`,
        `SELECT member FROM ${s}.set_members WHERE set_key = 'a'`,
        `SELECT 1 FROM ${s}.refresh_tokens t JOIN ${s}.refresh_families f ON f.key = t.family_key WHERE t.key = 'a'`,
        `SELECT key FROM ${s}.refresh_tokens WHERE family_key = 'a'`,
        `SELECT key FROM ${s}.kv WHERE expires_at <= now() LIMIT 1000`,
        `SELECT key FROM ${s}.refresh_tokens WHERE expires_at <= now() LIMIT 1000`,
        `SELECT key FROM ${s}.refresh_families WHERE expires_at <= now() LIMIT 1000`,
      ];
      for (const text of queries) {
        const { rows } = await client.query({ text: `EXPLAIN ${text}` });
        const plan = rows.map((row) => String(row['QUERY PLAN'])).join('\n');
        expect(plan, text).not.toContain('Seq Scan');
      }
    } finally {
      await client.query({ text: 'RESET enable_seqscan' });
      client.release();
    }
  });

  it('quotes a mixed-case schema name', async () => {
    const schema = `Mixed$${uniqueSchema('Case')}`;
    const store = await migrated(schema);
    await store.set('k', 'v');
    expect(await store.get('k')).toBe('v');
    const { rows } = await pool.query({
      text: 'SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1',
      values: [schema],
    });
    expect(rows[0]?.n).toBe(5);
  });

  describe('migrate', () => {
    it('runs five concurrent calls on a fresh database without an error, once', async () => {
      const fresh = await createTestDatabase();
      const own = Array.from({ length: 5 }, () => createPostgresPool(fresh.url));
      try {
        const results = await Promise.all(own.map((p) => postgresStore(p).migrate()));
        expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
        expect(results.every((r) => r.to === LATEST_SCHEMA_VERSION)).toBe(true);
        const { rows } = await own[0]!.query({
          text: 'SELECT version FROM bulwark.schema_migrations ORDER BY version',
        });
        expect(rows.map((r) => r.version)).toEqual(
          Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1),
        );
      } finally {
        await Promise.all(own.map((p) => p.end()));
        await fresh.drop();
      }
    });

    it('is idempotent', async () => {
      const schema = uniqueSchema('idem');
      const store = postgresStore(pool, { schema });
      expect(await store.migrate()).toEqual({ from: 0, to: LATEST_SCHEMA_VERSION, applied: [1] });
      expect(await store.migrate()).toEqual({
        from: LATEST_SCHEMA_VERSION,
        to: LATEST_SCHEMA_VERSION,
        applied: [],
      });
    });

    it('leaves a database a later release migrated as it is', async () => {
      const schema = uniqueSchema('later');
      const store = await migrated(schema);
      await pool.query({
        text: `INSERT INTO "${schema}".schema_migrations (version, name) VALUES (999, 'later')`,
      });
      expect(await store.migrate()).toEqual({ from: 999, to: 999, applied: [] });
    });
  });

  describe('outages', () => {
    it('fails fast while the database is unreachable and recovers without a new pool', async () => {
      const relay = await PostgresRelay.start(db.url);
      const events: SecurityEvent[] = [];
      const off = securityEvents.on('rate_limit.store_error', (event) => {
        events.push(event);
      });
      const own = newPool(relay.url, { connectTimeoutMs: 300, statementTimeoutMs: 500 });
      try {
        const store = await migrated(uniqueSchema('outage'), own);
        await store.set('k', 'v');
        await relay.cut();
        await expect(store.get('k')).rejects.toThrow();
        await expect(store.set('k', 'w')).rejects.toThrow();
        expect(events.filter((e) => e.store === 'postgres')).toHaveLength(1);
        await relay.resume();
        const value = await vi.waitUntil(() => store.get('k').catch(() => undefined), WAIT);
        expect(value).toBe('v');
      } finally {
        off();
        await relay.cut();
      }
    });

    it('rejects, without hanging, when nothing listens at start-up', async () => {
      const port = await freePort();
      const own = newPool(`postgres://postgres@127.0.0.1:${String(port)}/none`, {
        connectTimeoutMs: 300,
      });
      const store = postgresStore(own);
      await expect(store.migrate()).rejects.toThrow();
      await expect(store.get('k')).rejects.toThrow();
    });

    it('answers the readiness check while up, and rejects it while down', async () => {
      await expect(pingPostgres(pool)()).resolves.toBeUndefined();
      const port = await freePort();
      const down = newPool(`postgres://postgres@127.0.0.1:${String(port)}/none`, {
        connectTimeoutMs: 300,
      });
      await expect(pingPostgres(down)()).rejects.toThrow();
      expect(() => pingPostgres({} as never)).toThrow(BulwarkConfigError);
    });

    it('gives a foreign pool without timeouts a client-side deadline', async () => {
      const hanging = {
        query: () => new Promise<never>(() => undefined),
        connect: () => new Promise<never>(() => undefined),
      };
      vi.useFakeTimers();
      try {
        const store = postgresStore(hanging);
        const pending = expect(store.get('k')).rejects.toThrow(/timed out after 2000 ms/);
        await vi.advanceTimersByTimeAsync(2000);
        await pending;
      } finally {
        vi.useRealTimers();
      }
    });

    it('turns an idle connection dropped by the server into an event, not a crash', async () => {
      const events: SecurityEvent[] = [];
      const off = securityEvents.on('rate_limit.store_error', (event) => {
        events.push(event);
      });
      const own = newPool(db.url, { applicationName: 'bulwark-drop-test' });
      try {
        const store = await migrated(uniqueSchema('drop'), own);
        await store.set('k', 'v');
        await pool.query({
          text: `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE application_name = 'bulwark-drop-test' AND datname = $1`,
          values: [db.name],
        });
        await vi.waitUntil(() => events.length > 0, WAIT);
        expect(events[0]?.store).toBe('postgres');
        expect(await store.get('k')).toBe('v');
      } finally {
        off();
      }
    });
  });
});

describe('postgresStore and createPostgresPool options', () => {
  const fakePool: unknown = {
    query: () => Promise.resolve({ rows: [], rowCount: 0 }),
    connect: () => Promise.reject(new Error('no')),
  };
  it.each<[unknown, unknown]>([
    [fakePool, { schema: '' }],
    [fakePool, { schema: 'has space' }],
    [fakePool, { schema: 'x"; DROP TABLE users; --' }],
    [fakePool, { schema: '1starts_with_digit' }],
    [fakePool, { schema: 'pg_catalog' }],
    [fakePool, { schema: 'a'.repeat(64) }],
    [fakePool, { schema: 5 }],
    [fakePool, { sweepIntervalMs: -1 }],
    [fakePool, { sweepIntervalMs: 'often' }],
    [fakePool, { schem: 'a' }],
    [{ query: () => 'no connect' }, undefined],
    [null, undefined],
  ])('postgresStore refuses %j with %j', (pool, options) => {
    expect(() => postgresStore(pool as never, options as never)).toThrow(BulwarkConfigError);
  });

  it.each([
    ['redis://127.0.0.1:6379', undefined],
    ['not a url', undefined],
    ['postgres://127.0.0.1/db', { connectTimeoutMs: 0 }],
    ['postgres://127.0.0.1/db', { statementTimeoutMs: 1.5 }],
    ['postgres://127.0.0.1/db', { max: 0 }],
    ['postgres://127.0.0.1/db', { applicationName: 'a\nb' }],
    ['postgres://127.0.0.1/db', { statementTimeout: 5 }],
  ])('createPostgresPool refuses %j with %j', (url, options) => {
    expect(() => createPostgresPool(url, options as never)).toThrow(BulwarkConfigError);
  });

  it('never puts the password of the URL in its error', () => {
    let message = '';
    try {
      createPostgresPool('postgres://u:FAKE-db-password@127.0.0.1/db', { max: -1 });
    } catch (error) {
      message = String(error);
    }
    expect(message).toContain('max');
    expect(message).not.toContain('FAKE-db-password');
  });

  it('accepts the pg package’s Pool as it is', async () => {
    const own = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    expect(() => postgresStore(own)).not.toThrow();
    await own.end();
  });
});
