import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clearSharedKeys,
  freePort,
  requireRedis,
  SHARED_REDIS_URL,
  uniquePrefix,
} from '../helpers/redis.js';
import { ExampleProcess, expectProblem } from './example-process.js';
import { ADMIN_PASSWORD } from './journey.js';

// Replicas of the example server starting at the same instant on one Redis:
// every one comes up, the admin is created once, and an ADMIN_PASSWORD change
// is applied once.

const hasRedis = await requireRedis();
const NEW_ADMIN_PASSWORD = 'Rotated-Owner-Pass-test-7!';

/** Starts `count` example processes at once on one Redis prefix. */
async function startReplicas(
  count: number,
  prefix: string,
  env: Record<string, string> = {},
): Promise<ExampleProcess[]> {
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const started = await Promise.allSettled(
    ports.map((port) =>
      ExampleProcess.start({
        PORT: String(port),
        REDIS_URL: SHARED_REDIS_URL,
        BULWARK_REDIS_PREFIX: prefix,
        ...env,
      }),
    ),
  );
  const up = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
  if (failed.length > 0) {
    await Promise.all(up.map((server) => server.stop()));
    throw new Error(`not every replica started:\n${failed.join('\n')}`);
  }
  return up;
}

/** Waits until every replica reports ready, i.e. seeding is done. */
async function untilReady(servers: readonly ExampleProcess[]): Promise<void> {
  for (const server of servers) await server.whenReady(120_000);
}

async function userCount(prefix: string): Promise<number> {
  const client = createClient({ url: SHARED_REDIS_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.sCard(`${prefix}users:users`);
  } finally {
    client.destroy();
  }
}

function count(servers: readonly ExampleProcess[], pattern: RegExp): number {
  return servers.filter((server) => pattern.test(server.stdout)).length;
}

async function login(server: ExampleProcess, password: string): Promise<Response> {
  return server.fetch('/auth/login', { json: { username: 'admin', password } });
}

describe.runIf(hasRedis)('example replicas starting together on one Redis', () => {
  const prefixes: string[] = [];
  const running: ExampleProcess[] = [];
  afterAll(async () => {
    await Promise.all(running.map((server) => server.stop()));
    for (const prefix of prefixes) await clearSharedKeys([prefix]);
  });

  it('with ADMIN_PASSWORD: all come up, the admin is created once, a new password is applied once', async () => {
    const prefix = uniquePrefix('replicas-pw');
    prefixes.push(prefix);

    const first = await startReplicas(3, prefix, { ADMIN_PASSWORD });
    running.push(...first);
    await untilReady(first);
    expect(count(first, /created from ADMIN_PASSWORD/)).toBe(1);
    expect(await userCount(prefix)).toBe(1);
    for (const server of first) expect((await login(server, ADMIN_PASSWORD)).status).toBe(200);
    expect(await Promise.all(first.map((server) => server.stop()))).toEqual([0, 0, 0]);
    for (const server of first) {
      expect(server.stderr).not.toMatch(/^\s+at /m);
      expect(server.stderr).not.toContain('resource.conflict');
    }

    const second = await startReplicas(3, prefix, { ADMIN_PASSWORD: NEW_ADMIN_PASSWORD });
    running.push(...second);
    await untilReady(second);
    expect(count(second, /password reset from ADMIN_PASSWORD/)).toBe(1);
    expect(count(second, /created/)).toBe(0);
    expect(await userCount(prefix)).toBe(1);
    for (const server of second) {
      expect((await login(server, NEW_ADMIN_PASSWORD)).status).toBe(200);
    }
    await expectProblem(await login(second[0]!, ADMIN_PASSWORD), 401, 'auth.invalid_credentials');
  }, 240_000);

  it('without ADMIN_PASSWORD: all come up and exactly one generates and prints the password', async () => {
    const prefix = uniquePrefix('replicas-gen');
    prefixes.push(prefix);
    const servers = await startReplicas(3, prefix);
    running.push(...servers);
    await untilReady(servers);
    const printed = servers
      .map((server) => /created with password: (\S+)/.exec(server.stdout)?.[1])
      .filter((password) => password !== undefined);
    expect(printed).toHaveLength(1);
    expect(await userCount(prefix)).toBe(1);
    for (const server of servers) expect((await login(server, printed[0]!)).status).toBe(200);
  }, 240_000);
});
