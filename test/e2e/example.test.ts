import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  clearSharedKeys,
  freePort,
  requireRedis,
  SHARED_REDIS_URL,
  uniquePrefix,
} from '../helpers/redis.js';
import { ExampleProcess, expectProblem } from './example-process.js';
import { ADMIN_PASSWORD, describeJourney, USER, USER_PASSWORD } from './journey.js';

// The example server as a child process, with memory stores; the same journey
// runs against Redis in example-redis.test.ts (a second file, so both run in
// parallel).

const hasRedis = await requireRedis();

describeJourney(false);

describe('example server in production', () => {
  it('refuses to start on default secrets, listing every problem without a stack trace', async () => {
    const result = await ExampleProcess.run({
      ENVIRONMENT: 'production',
      PORT: String(await freePort()),
      JWT_SECRET_KEY: 'dev-insecure-0123456789abcdef0123456789abcdef',
      METRICS_PASSWORD: 'changeme',
      METRICS_USERNAME: 'metrics',
    });
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('listening');
    expect(result.stderr).toContain('refusing to start');
    for (const name of [
      'JWT_SECRET_KEY',
      'TRUSTED_HOSTS',
      'CORS_ALLOWED_ORIGINS',
      'RATE_LIMIT_STORAGE_URI',
      'METRICS_PASSWORD',
      'ADMIN_PASSWORD',
    ]) {
      expect(result.stderr).toContain(name);
    }
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr).not.toContain('dev-insecure-0123');
  });

  it.runIf(hasRedis)('starts on a safe config, with registration switched off', async () => {
    const prefix = uniquePrefix('example-prod');
    const port = await freePort();
    const server = await ExampleProcess.start({
      ENVIRONMENT: 'production',
      PORT: String(port),
      // Random: production refuses word-and-sequence secrets such as
      // 'production-like-test-secret-0123456789'.
      JWT_SECRET_KEY: `FAKE-${randomBytes(32).toString('base64url')}`,
      TRUSTED_HOSTS: `127.0.0.1:${String(port)}`,
      CORS_ALLOWED_ORIGINS: 'https://app.example.com',
      REDIS_URL: SHARED_REDIS_URL,
      BULWARK_REDIS_PREFIX: prefix,
      HTTPS_REDIRECT_ENABLED: 'false',
      ADMIN_PASSWORD,
    });
    try {
      await expectProblem(
        await server.fetch('/auth/register', { json: { username: USER, password: USER_PASSWORD } }),
        404,
        'resource.not_found',
      );
      // No metrics credentials configured: production serves no /metrics at all.
      await expectProblem(await server.fetch('/metrics'), 404, 'resource.not_found');
      const res = await server.fetch('/auth/login', {
        json: { username: 'admin', password: ADMIN_PASSWORD },
      });
      expect(res.status).toBe(200);
      expect(server.stdout).not.toContain(ADMIN_PASSWORD);
    } finally {
      await server.stop();
      await clearSharedKeys([prefix]);
    }
  });
});
