import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../helpers/postgres.js';
import { freePort } from '../helpers/redis.js';
import { ExampleProcess, expectProblem } from './example-process.js';

// The example server with DATABASE_URL: users, sessions and API keys in
// PostgreSQL, so they survive a restart and are shared by replicas.

const hasPostgres = await requirePostgres();
const ADMIN_PASSWORD = 'Owner-Passw0rd-test!';
const USER_PASSWORD = 'Correct-Horse-9-battery';
// Every process signs with the same key, as replicas of one deployment do.
const JWT_SECRET_KEY = 'test-FAKE-jwt-secret-for-the-postgres-example-0123';

interface TokenPair {
  access_token: string;
  refresh_token: string;
}

describe.runIf(hasPostgres)('example server with PostgreSQL', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  const running: ExampleProcess[] = [];

  async function start(extra: Record<string, string> = {}): Promise<ExampleProcess> {
    const server = await ExampleProcess.start({
      PORT: String(await freePort()),
      DATABASE_URL: db.url,
      JWT_SECRET_KEY,
      ADMIN_PASSWORD,
      RATE_LIMIT_REQUESTS_PER_MINUTE: '1000',
      ...extra,
    });
    running.push(server);
    await server.whenReady();
    return server;
  }

  async function login(server: ExampleProcess, username: string, password: string) {
    const res = await server.fetch('/auth/login', { json: { username, password } });
    expect(res.status).toBe(200);
    return (await res.json()) as TokenPair;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop()));
    await db.drop();
  });

  it('keeps users, sessions, revocations and API keys across a restart', async () => {
    const first = await start();
    expect(first.stdout).toContain('stores: postgres');
    const ready = (await (await first.fetch('/ready')).json()) as {
      checks: Record<string, string>;
    };
    expect(ready.checks.postgres).toBe('ok');

    expect(
      (
        await first.fetch('/auth/register', {
          json: { username: 'carol', password: USER_PASSWORD },
        })
      ).status,
    ).toBe(201);
    const kept = await login(first, 'carol', USER_PASSWORD);
    const revoked = await login(first, 'carol', USER_PASSWORD);
    expect(
      (
        await first.fetch('/auth/logout', {
          token: revoked.access_token,
          json: { refresh_token: revoked.refresh_token },
        })
      ).status,
    ).toBe(204);
    const admin = await login(first, 'admin', ADMIN_PASSWORD);
    const issued = await first.fetch('/admin/api-keys', {
      token: admin.access_token,
      json: { name: 'ci', scopes: ['read'] },
    });
    expect(issued.status).toBe(201);
    const { key } = (await issued.json()) as { key: string };
    expect(await first.stop()).toBe(0);

    const second = await start();
    // Same password, same account: the user row survived.
    await login(second, 'carol', USER_PASSWORD);
    // A refresh token issued before the restart still refreshes.
    const refreshed = await second.fetch('/auth/refresh', {
      json: { refresh_token: kept.refresh_token },
    });
    expect(refreshed.status).toBe(200);
    // A revoked session stays revoked: its access token and its refresh token.
    await expectProblem(
      await second.fetch('/me', { token: revoked.access_token }),
      401,
      'auth.token_revoked',
    );
    expect(
      (await second.fetch('/auth/refresh', { json: { refresh_token: revoked.refresh_token } }))
        .status,
    ).toBe(401);
    // The API key issued before the restart still works.
    const whoami = await second.fetch('/v1/whoami', { headers: { 'x-api-key': key } });
    expect(whoami.status).toBe(200);
    // The admin was found, not created again.
    expect(second.stdout).not.toContain('admin "admin" created');
  });

  it('keeps provider keys sealed in PostgreSQL across a restart, never in clear', async () => {
    const encryption = { ENCRYPTION_KEY: randomBytes(32).toString('hex') };
    const providerKey = `sk-test-FAKE-${randomBytes(12).toString('hex')}`;
    const first = await start(encryption);
    const admin = await login(first, 'admin', ADMIN_PASSWORD);
    const put = await first.fetch('/admin/providers/openai', {
      method: 'PUT',
      json: { api_key: providerKey },
      token: admin.access_token,
    });
    expect(put.status).toBe(204);
    await first.stop();

    const second = await start(encryption);
    const again = await login(second, 'admin', ADMIN_PASSWORD);
    const listed = await second.fetch('/admin/providers', { token: again.access_token });
    expect(listed.status).toBe(200);
    const providers = (await listed.json()) as { name: string; key_hint: string }[];
    expect(providers).toEqual([
      expect.objectContaining({ name: 'openai', key_hint: providerKey.slice(-4) }),
    ]);

    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const { rows: tables } = await pool.query<{ table_schema: string; table_name: string }>(
        `SELECT table_schema, table_name FROM information_schema.tables
          WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`,
      );
      const dump: string[] = [];
      for (const table of tables) {
        const { rows } = await pool.query<{ row: string }>(
          `SELECT row_to_json(t)::text AS row FROM "${table.table_schema}"."${table.table_name}" t`,
        );
        dump.push(...rows.map((r) => r.row));
      }
      const text = dump.join('\n');
      expect(text).toContain('v1.');
      expect(text).not.toContain(providerKey);
      expect(text).not.toContain(providerKey.slice(13));
    } finally {
      await pool.end();
    }
  });

  it('starts three replicas at once on a fresh database', async () => {
    const fresh = await createTestDatabase();
    try {
      const replicas = await Promise.all(
        [1, 2, 3].map(async () =>
          ExampleProcess.start({
            PORT: String(await freePort()),
            DATABASE_URL: fresh.url,
            JWT_SECRET_KEY,
            ADMIN_PASSWORD,
          }),
        ),
      );
      running.push(...replicas);
      for (const replica of replicas) {
        await replica.whenReady();
      }
      const created = replicas.filter((r) => r.stdout.includes('admin "admin" created'));
      expect(created).toHaveLength(1);
      for (const replica of replicas) expect(replica.stderr).not.toMatch(/error|Error/);
      // A session from one replica refreshes on another.
      const pair = await login(replicas[0]!, 'admin', ADMIN_PASSWORD);
      const other = await replicas[2]!.fetch('/auth/refresh', {
        json: { refresh_token: pair.refresh_token },
      });
      expect(other.status).toBe(200);
      await Promise.all(replicas.map((r) => r.stop()));
    } finally {
      await fresh.drop();
    }
  });

  it('stays up with the database at a closed port: /health 200, /ready 503', async () => {
    const port = await freePort();
    const server = await ExampleProcess.start({
      PORT: String(await freePort()),
      DATABASE_URL: `postgres://app:FAKE-db-password@127.0.0.1:${String(port)}/app`,
      JWT_SECRET_KEY,
      ADMIN_PASSWORD,
    });
    running.push(server);
    expect((await server.fetch('/health')).status).toBe(200);
    const ready = await server.fetch('/ready');
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: Record<string, string> };
    expect(body.checks.postgres).not.toBe('ok');
    await expectProblem(
      await server.fetch('/auth/login', { json: { username: 'admin', password: ADMIN_PASSWORD } }),
      503,
      'auth.unavailable',
    );
    expect(server.child.exitCode).toBeNull();
    expect(server.stdout + server.stderr).not.toContain('FAKE-db-password');
    await server.stop();
  });
});
