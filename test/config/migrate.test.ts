import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { runCli } from '../../src/config/doctor.js';
import { LATEST_SCHEMA_VERSION } from '../../src/stores/postgres-migrations.js';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../helpers/postgres.js';
import { freePort } from '../helpers/redis.js';
import { tempDir } from './helpers.js';

const hasPostgres = await requirePostgres();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function migrate(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['migrate', ...args], {
    env: { SETTINGS_SECRETS_DIR: tempDir(), ...env },
    cwd: tempDir(),
    stdout: {
      write: (text: string) => {
        stdout += text;
      },
    },
    stderr: {
      write: (text: string) => {
        stderr += text;
      },
    },
  });
  return { code, stdout, stderr };
}

describe.runIf(hasPostgres)('bulwark migrate', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  async function versions(schema: string): Promise<number[]> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number }>(
        `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
      );
      return rows.map((row) => row.version);
    } finally {
      await client.end();
    }
  }

  it('creates the tables from DATABASE_URL, then finds nothing to do', async () => {
    const first = await migrate([], { DATABASE_URL: db.url });
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain(`upgraded from version 0 to ${String(LATEST_SCHEMA_VERSION)}`);
    const second = await migrate([], { DATABASE_URL: db.url });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('nothing to do');
    expect(await versions('bulwark')).toEqual([1]);
  });

  it('reads DATABASE_URL from the secrets folder and takes --schema', async () => {
    const secrets = tempDir();
    writeFileSync(join(secrets, 'DATABASE_URL'), `${db.url}\n`);
    const run = await migrate(['--schema', 'ops_auth'], { SETTINGS_SECRETS_DIR: secrets });
    expect(run.code).toBe(0);
    expect(await versions('ops_auth')).toEqual([1]);
  });

  it('fails with exit 1 and without the password when the database is down', async () => {
    const port = await freePort();
    const run = await migrate([], {
      DATABASE_URL: `postgres://app:FAKE-db-password@127.0.0.1:${String(port)}/app`,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^bulwark migrate: cannot migrate:\n {2}- /);
    expect(run.stdout + run.stderr).not.toContain('FAKE-db-password');
  });
});

describe('bulwark migrate without a usable DATABASE_URL', () => {
  it.each<[NodeJS.ProcessEnv, string[], number, string]>([
    [{}, [], 1, 'DATABASE_URL is not set'],
    [
      { DATABASE_URL: 'mysql://u:FAKE-db-password@db/app' },
      [],
      1,
      'DATABASE_URL must be a postgres:// or postgresql:// URL',
    ],
    [{ DATABASE_URL: 'postgres://127.0.0.1/app' }, ['--schema', 'bad name'], 1, 'SQL identifier'],
    [{}, ['--json'], 2, 'option --json does not apply'],
    [{}, ['now'], 2, 'unexpected argument "now"'],
  ])('%j %j exits %i: %s', async (env, args, code, message) => {
    const run = await migrate(args, env);
    expect(run.code).toBe(code);
    expect(run.stderr).toContain(message);
    expect(run.stderr).not.toContain('FAKE-db-password');
    expect(run.stdout).toBe('');
  });

  it('keeps --schema to migrate', async () => {
    const code = await runCli(['doctor', '--schema', 'x'], {
      env: {},
      cwd: tempDir(),
      stdout: { write: () => undefined },
      stderr: { write: () => undefined },
    });
    expect(code).toBe(2);
  });
});
