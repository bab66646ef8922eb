import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requireRedis, uniquePrefix } from '../helpers/redis.js';
import { clusterToolsAvailable, RedisClusterFixture } from '../helpers/redis-cluster.js';
import { ExampleProcess, expectProblem } from './example-process.js';
import { ADMIN_PASSWORD } from './journey.js';

// Two example server processes on one Redis Cluster (REDIS_CLUSTER_NODES):
// what one process does is seen by the other at once, and limits are shared.

interface TokenPair {
  access_token: string;
  refresh_token: string;
}

const hasCluster = (await requireRedis()) && (await clusterToolsAvailable());

describe.runIf(hasCluster)('two example servers on a Redis Cluster', () => {
  let cluster: RedisClusterFixture;
  let servers: ExampleProcess[] = [];

  beforeAll(async () => {
    cluster = await RedisClusterFixture.start();
    const env = {
      REDIS_CLUSTER_NODES: cluster.urls.join(','),
      BULWARK_REDIS_PREFIX: uniquePrefix('example-cluster'),
      ADMIN_PASSWORD,
      // Shared, so an access token signed by one process verifies in the other.
      JWT_SECRET_KEY: 'FAKE-test-jwt-key-shared-by-both-0123456789',
      RATE_LIMIT_REQUESTS_PER_MINUTE: '1000',
    };
    const ports = [await freePort(), await freePort()];
    servers = await Promise.all(
      ports.map((port) => ExampleProcess.start({ ...env, PORT: String(port) })),
    );
    // Ready once the cluster answers and the admin account is seeded.
    for (const s of servers) await s.whenReady();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await cluster.stop();
  }, 60_000);

  const server = (i: number): ExampleProcess => servers[i % servers.length] as ExampleProcess;

  async function login(i: number): Promise<TokenPair> {
    const res = await server(i).fetch('/auth/login', {
      json: { username: 'admin', password: ADMIN_PASSWORD },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as TokenPair;
  }

  it('is ready on both, with Redis as its store', async () => {
    for (const s of servers) {
      expect(s.stdout).toContain('stores: redis');
      const res = await s.fetch('/ready');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ready', checks: { redis: 'ok' } });
    }
  });

  it('shares the login limit: the sixth failure for one name is refused, whichever process sees it', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await server(i).fetch('/auth/login', {
        json: { username: 'nobody-test', password: 'wrong-password-test' },
      });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('lets one of 20 concurrent refreshes of one token win across the two processes', async () => {
    const { refresh_token } = await login(0);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        server(i).fetch('/auth/refresh', { json: { refresh_token } }),
      ),
    );
    const statuses = answers.map((res) => res.status);
    await Promise.all(answers.map((res) => res.arrayBuffer()));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(19);
  });

  it('ends a session in one process and the other refuses its tokens at once', async () => {
    const tokens = await login(0);
    const me = await server(1).fetch('/me', { token: tokens.access_token });
    expect(me.status).toBe(200);
    await me.arrayBuffer();
    const out = await server(0).fetch('/auth/logout', {
      token: tokens.access_token,
      json: { refresh_token: tokens.refresh_token },
    });
    expect(out.status).toBe(204);
    await expectProblem(
      await server(1).fetch('/me', { token: tokens.access_token }),
      401,
      'auth.token_revoked',
    );
    const refreshed = await server(1).fetch('/auth/refresh', {
      json: { refresh_token: tokens.refresh_token },
    });
    expect(refreshed.status).toBe(401);
    await refreshed.arrayBuffer();
  });
});
