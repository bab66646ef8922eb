import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisClient, rateLimit, type BulwarkRedisCluster } from '../../src/index.js';
import { requireRedis, uniquePrefix } from '../helpers/redis.js';
import { clusterToolsAvailable, RedisClusterFixture } from '../helpers/redis-cluster.js';

const hasCluster = (await requireRedis()) && (await clusterToolsAvailable());
const LIMIT = 5;
const PREFIX = uniquePrefix('cluster-outage');
// Far above the command deadline: a request still unanswered by then counts as hung.
const HUNG_MS = 8000;
// The cluster takes a while to see a node die and come back.
const WAIT = { timeout: 30_000, interval: 25 };

describe.runIf(hasCluster)('rateLimit on a Redis Cluster losing a node mid-traffic', () => {
  let cluster: RedisClusterFixture;
  let client: BulwarkRedisCluster;
  let server: Server;
  let base = '';
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeAll(async () => {
    cluster = await RedisClusterFixture.start();
    client = createRedisClient({ cluster: cluster.urls }, { maxReconnectDelayMs: 100 });
    const app = express();
    app.use(
      rateLimit({
        store: client,
        prefix: PREFIX,
        limit: LIMIT,
        onStoreError: 'fail-closed',
        keyBy: (req) => req.get('X-Client') ?? '',
      }),
    );
    app.get('/', (_req, res) => {
      res.json({ ok: true });
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => {
        resolve(s);
      });
    });
    base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/`;
    process.on('unhandledRejection', onRejection);
  }, 60_000);

  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await new Promise((r) => server.close(r));
    client.destroy();
    await cluster.stop();
  });

  /** The status, or 0 when no answer came within HUNG_MS. */
  async function ask(id: string): Promise<number> {
    try {
      const res = await fetch(base, {
        headers: { 'X-Client': id },
        signal: AbortSignal.timeout(HUNG_MS),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  /** A client id whose counter lives on the node at `port`. */
  async function idOn(port: number, label: string): Promise<string> {
    for (let i = 0; ; i++) {
      const id = `${label}-${String(i)}`;
      if ((await cluster.ownerOf(`${PREFIX}fn:${id}`)) === port) return id;
    }
  }

  it('answers every request (200 or 503) while a node is down, and limits exactly once it is back', async () => {
    const victim = cluster.ports[0] ?? 0;
    const survivor = cluster.ports[1] ?? 0;
    const onVictim = await idOn(victim, 'victim');
    const afterIds = [await idOn(victim, 'after-victim'), await idOn(survivor, 'after-survivor')];
    await vi.waitUntil(() => client.isReady, WAIT);
    expect(await ask(onVictim)).toBe(200);

    const phase = { now: 'up' };
    const answers: { phase: string; status: number }[] = [];
    let running = true;
    let n = 0;
    const loops = Array.from({ length: 4 }, async () => {
      while (running) {
        const started = phase.now;
        const status = await ask(`traffic-${String(n++)}`);
        answers.push({ phase: started === phase.now ? started : 'transition', status });
        await delay(5);
      }
    });
    const count = (p: string) => answers.filter((a) => a.phase === p).length;

    await vi.waitUntil(() => count('up') > 5, WAIT);
    phase.now = 'stopping';
    await cluster.killNode(victim);
    phase.now = 'down';
    await vi.waitUntil(() => !client.isReady, WAIT);
    const down = [await ask(onVictim), await ask(onVictim)];
    await vi.waitUntil(() => count('down') > 5, WAIT);
    await cluster.startNode(victim);
    phase.now = 'recovering';
    await cluster.whenHealthy();
    await vi.waitUntil(() => client.isReady, WAIT);
    phase.now = 'back';
    await vi.waitUntil(() => count('back') > 5, WAIT);
    running = false;
    await Promise.all(loops);

    // Nothing hung and nothing failed other than with the outage answer.
    const statuses = new Set(answers.map((a) => a.status));
    expect([...statuses].every((s) => s === 200 || s === 503)).toBe(true);
    expect(answers.filter((a) => a.phase === 'up').every((a) => a.status === 200)).toBe(true);
    expect(answers.filter((a) => a.phase === 'back').every((a) => a.status === 200)).toBe(true);
    // A key on the dead node got the fail-closed answer.
    expect(down).toEqual([503, 503]);

    // Counting resumes on the restarted node (its scripts reloaded after NOSCRIPT) and elsewhere.
    for (const id of afterIds) {
      const after = [];
      for (let i = 0; i <= LIMIT; i++) after.push(await ask(id));
      expect(after).toEqual([...Array<number>(LIMIT).fill(200), 429]);
    }
    expect(rejections).toEqual([]);
  }, 90_000);
});
