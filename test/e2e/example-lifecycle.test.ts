import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { freePort, PrivateRedis, requireRedis, uniquePrefix } from '../helpers/redis.js';
import { ExampleProcess, expectProblem } from './example-process.js';
import { ADMIN_PASSWORD } from './journey.js';

// The example server's life as a process: a Redis that is not there yet or
// freezes, probes under a tight rate limit, SIGTERM with a request in flight,
// and secrets read from files.

const hasRedis = await requireRedis();

const WAIT = { timeout: 30_000, interval: 100 };

function login(server: ExampleProcess, password = ADMIN_PASSWORD): Promise<Response> {
  return server.fetch('/auth/login', { json: { username: 'admin', password } });
}

async function readyBody(server: ExampleProcess): Promise<{ status: number; body: unknown }> {
  const res = await server.fetch('/ready');
  return { status: res.status, body: await res.json() };
}

describe.runIf(hasRedis)('example server while Redis is missing or frozen', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('starts with Redis at a closed port, answers 503 while it is away, and recovers without a restart', async () => {
    const redis = await PrivateRedis.reserve();
    cleanup.push(() => redis.stop());
    const server = await ExampleProcess.start({
      PORT: String(await freePort()),
      REDIS_URL: redis.url,
      BULWARK_REDIS_PREFIX: uniquePrefix('late-redis'),
      ADMIN_PASSWORD,
    });
    cleanup.push(() => server.stop());

    expect((await server.fetch('/health')).status).toBe(200);
    const notReady = await readyBody(server);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toEqual({
      status: 'unavailable',
      checks: { redis: 'failed', admin: 'failed' },
    });
    expect(JSON.stringify(notReady.body)).not.toContain(String(redis.port));
    await expectProblem(await login(server), 503, 'rate_limit.unavailable');

    await redis.restart();
    await server.whenReady();
    expect(await readyBody(server)).toEqual({
      status: 200,
      body: { status: 'ready', checks: { redis: 'ok', admin: 'ok' } },
    });
    expect((await login(server)).status).toBe(200);
    expect(server.child.exitCode).toBeNull();
    expect(server.stdout).toContain('created from ADMIN_PASSWORD');
    expect(server.stderr).not.toMatch(/^\s+at /m);
    expect(server.stderr).not.toMatch(/unhandled|ClientOfflineError: /i);
  }, 120_000);

  it('keeps /health at 200 while Redis is frozen (SIGSTOP), /ready says which store, and recovers', async () => {
    const redis = await PrivateRedis.start();
    cleanup.push(async () => {
      redis.resume();
      await redis.stop();
    });
    const server = await ExampleProcess.start({
      PORT: String(await freePort()),
      REDIS_URL: redis.url,
      BULWARK_REDIS_PREFIX: uniquePrefix('frozen-redis'),
      ADMIN_PASSWORD,
    });
    cleanup.push(() => server.stop());
    await server.whenReady();

    redis.pause();
    for (let i = 0; i < 3; i++) {
      const res = await server.fetch('/health');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    }
    expect(await readyBody(server)).toEqual({
      status: 503,
      body: { status: 'unavailable', checks: { redis: 'timeout', admin: 'ok' } },
    });
    await expectProblem(await login(server), 503, 'rate_limit.unavailable');

    redis.resume();
    await server.whenReady();
    // A limiter that saw a timeout leaves Redis alone for a moment before trying it again.
    await vi.waitUntil(async () => (await login(server)).status === 200, WAIT);
    expect(server.child.exitCode).toBeNull();
  }, 120_000);
});

describe('example server probes, shutdown and secrets', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('never rate-limits 30 probes under a limit of 5, sent by address over plain HTTP', async () => {
    const server = await ExampleProcess.start({
      PORT: String(await freePort()),
      RATE_LIMIT_REQUESTS_PER_MINUTE: '5',
      ADMIN_PASSWORD,
    });
    cleanup.push(() => server.stop());
    // Seeding runs after listen(): until it is done, /ready rightly answers 503.
    await vi.waitUntil(
      async () => (await server.raw('/ready', { host: '10.1.2.3:8080' })).status === 200,
      WAIT,
    );
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) {
      for (const path of ['/health', '/ready']) {
        const res = await server.raw(path, { host: '10.1.2.3:8080' });
        statuses.push(res.status);
        expect(res.headers.ratelimit).toBeUndefined();
      }
    }
    expect(statuses).toEqual(Array.from({ length: 30 }, () => 200));

    // The same client's real requests are still limited: five reach the handler, the sixth does not.
    const me: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await server.fetch('/me');
      me.push(`${String(res.status)} ${((await res.json()) as { code: string }).code}`);
    }
    expect(me).toEqual([
      ...Array.from({ length: 5 }, () => '401 auth.missing_credentials'),
      '429 rate_limit.exceeded',
    ]);
  }, 60_000);

  it('answers an unmatched route with a 404 problem', async () => {
    const server = await ExampleProcess.start({ PORT: String(await freePort()), ADMIN_PASSWORD });
    cleanup.push(() => server.stop());
    await expectProblem(await server.fetch('/no/such/route'), 404, 'resource.not_found');
  }, 60_000);

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    const server = await ExampleProcess.start({ PORT: String(await freePort()), ADMIN_PASSWORD });
    cleanup.push(() => server.stop());
    await server.whenReady();
    const { hostname, port } = new URL(server.url);
    const body = JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD });
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    const closed = new Promise((done) => socket.once('close', done));
    await new Promise((done) => socket.once('connect', done));
    // Headers and half the body: the request is in flight, waiting for the rest.
    socket.write(
      `POST /auth/login HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${String(Buffer.byteLength(body))}\r\n\r\n${body.slice(0, 10)}`,
    );
    // A second request answered means the server has read the first one's headers.
    expect((await server.fetch('/health')).status).toBe(200);

    server.child.kill('SIGTERM');
    await vi.waitUntil(() => server.stdout.includes('finishing in-flight requests'), WAIT);
    expect(server.child.exitCode).toBeNull();
    // write, not end: a client that half-closes its side has its request aborted by Node.
    socket.write(body.slice(10));
    // With Connection: close the server ends the connection once the answer is sent.
    await closed;

    expect(answer, `${server.stdout}\n${server.stderr}`).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(answer).toContain('"access_token"');
    expect(await server.exited).toBe(0);
    expect(server.stdout).toContain('stopped');
  }, 60_000);

  it('reads ADMIN_PASSWORD from ADMIN_PASSWORD_FILE and a provider key from the secrets folder', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'bulwark-e2e-files-'));
    const passwordFile = join(folder, 'admin-password');
    writeFileSync(passwordFile, `${ADMIN_PASSWORD}\n`);
    const secrets = mkdtempSync(join(tmpdir(), 'bulwark-e2e-secrets-dir-'));
    writeFileSync(join(secrets, 'OPENAI_API_KEY'), 'sk-test-not-a-real-key-0000\n');
    const server = await ExampleProcess.start({
      PORT: String(await freePort()),
      ADMIN_PASSWORD_FILE: passwordFile,
      SETTINGS_SECRETS_DIR: secrets,
    });
    cleanup.push(() => server.stop());
    expect(server.stdout).toMatch(/provider: openai/);
    await server.whenReady();
    expect(server.stdout).toContain('created from ADMIN_PASSWORD');
    expect((await login(server)).status).toBe(200);
    expect(server.stdout).not.toContain(ADMIN_PASSWORD);
  }, 60_000);

  it('refuses to start on an unreadable ADMIN_PASSWORD_FILE, naming it, without a stack trace', async () => {
    const result = await ExampleProcess.run({
      PORT: String(await freePort()),
      ADMIN_PASSWORD_FILE: join(tmpdir(), 'bulwark-no-such-file', 'admin-password'),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('refusing to start');
    expect(result.stderr).toContain('ADMIN_PASSWORD_FILE');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);
});
