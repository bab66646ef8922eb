import { BulwarkConfigError } from '../errors.js';
import { createPostgresPool } from '../stores/postgres-client.js';
import { postgresStore } from '../stores/postgres-store.js';
import { inspectConfig } from './load.js';

/** What `bulwark migrate` writes to and reads from. */
export interface MigrateIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

// A deploy step may wait for a database that is still starting.
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * `bulwark migrate`: creates or upgrades the `postgresStore` tables in the
 * database at `DATABASE_URL` (read like `loadConfig()` reads it, so `_FILE`
 * and the secrets folder work), exactly as `store.migrate()` does at start-up.
 * Exit codes: 0 done (or nothing to do), 1 not configured or the database
 * refused. Never prints the URL or its password.
 */
export async function runMigrate(schema: string | undefined, io: MigrateIo): Promise<number> {
  const { config, problems } = inspectConfig({ env: io.env, cwd: io.cwd });
  const fail = (lines: readonly string[]): number => {
    io.stderr.write('bulwark migrate: cannot migrate:\n');
    for (const line of lines) io.stderr.write(`  - ${line}\n`);
    return 1;
  };
  const own = problems.filter((p) => p.includes('DATABASE_URL'));
  if (own.length > 0) return fail(own);
  const url = config.database.url;
  if (url === undefined) return fail(['DATABASE_URL is not set']);

  let pool;
  try {
    pool = createPostgresPool(url, { connectTimeoutMs: CONNECT_TIMEOUT_MS, max: 1 });
    const store = postgresStore(pool, schema === undefined ? undefined : { schema });
    const result = await store.migrate();
    const name = schema ?? 'bulwark';
    io.stdout.write(
      result.applied.length === 0
        ? `bulwark migrate: schema ${name} is at version ${String(result.to)}; nothing to do\n`
        : `bulwark migrate: schema ${name} upgraded from version ${String(result.from)} to ${String(result.to)} (applied ${result.applied.join(', ')})\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof BulwarkConfigError) return fail(error.problems);
    return fail([error instanceof Error ? error.message : String(error)]);
  } finally {
    await pool?.end().catch(() => undefined);
  }
}
