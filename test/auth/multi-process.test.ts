import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedis, SHARED_REDIS_URL } from '../helpers/redis.js';
import { sharedPrefixes } from '../helpers/redis-targets.js';

const hasRedis = await requireRedis();
const SERVER = fileURLToPath(new URL('./fixtures/auth-server.ts', import.meta.url));

interface Child {
  process: ChildProcess;
  url: string;
}

function startServer(prefix: string): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    env: { ...process.env, REDIS_URL: SHARED_REDIS_URL, STORE_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('auth server did not start'));
    }, 15_000);
    child.stdout.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve({ process: child, url: `http://127.0.0.1:${chunk.toString().trim()}` });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`auth server exited with ${String(code)}`));
    });
  });
}

describe.runIf(hasRedis)('two processes sharing a Redis store', () => {
  let a: Child;
  let b: Child;
  const prefixFor = sharedPrefixes();
  beforeAll(async () => {
    const prefix = prefixFor('multi-process');
    [a, b] = await Promise.all([startServer(prefix), startServer(prefix)]);
  });
  afterAll(() => {
    for (const child of [a, b]) child.process.kill('SIGTERM');
  });

  const login = async (sub: string) =>
    (await request(a.url).post('/login').send({ sub }).expect(200)).body as {
      access_token: string;
      refresh_token: string;
    };

  it('sees a logout in the other process at once', async () => {
    const pair = await login('alice');
    const onB = () => request(b.url).get('/me').set('Authorization', `Bearer ${pair.access_token}`);
    expect((await onB()).status).toBe(200);
    await request(a.url)
      .post('/logout')
      .set('Authorization', `Bearer ${pair.access_token}`)
      .send({ refresh_token: pair.refresh_token })
      .expect(204);
    const after = await onB();
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('auth.token_revoked');
    const refresh = await request(b.url)
      .post('/refresh')
      .send({ refresh_token: pair.refresh_token });
    expect(refresh.body.code).toBe('auth.token_revoked');
  });

  it('sees a revoke-all in the other process at once', async () => {
    const pair = await login('bob');
    await request(b.url).post('/revoke-all').send({ sub: 'bob' }).expect(204);
    const res = await request(a.url).get('/me').set('Authorization', `Bearer ${pair.access_token}`);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('auth.token_revoked');
  });

  it('detects refresh reuse across processes and lets one of 20 concurrent refreshes win', async () => {
    const pair = await login('carol');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(i % 2 === 0 ? a.url : b.url)
          .post('/refresh')
          .send({ refresh_token: pair.refresh_token }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const lost = results.filter((r) => r.status === 401);
    expect(lost).toHaveLength(19);
    for (const r of lost) expect(r.body.code).toBe('auth.refresh_reused');
  });
});
