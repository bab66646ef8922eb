import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearSharedKeys, freePort, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { ExampleProcess, expectProblem } from './example-process.js';

export const USER = 'alice-test';
export const USER_PASSWORD = 'Correct-Horse-test-42!';
export const ADMIN_PASSWORD = 'Owner-Passw0rd-test!';
const METRICS_USERNAME = 'scraper-test';
const METRICS_PASSWORD = 'metrics-password-FAKE-0001';
const DEV_ORIGIN = 'http://localhost:5173';
// Every value here is fake, shaped like what the redaction engine looks for.
const FAKE_AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const FAKE_EMAIL = 'jane.doe.test@example.com';

interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

/**
 * Walks the example server's whole API over HTTP, as a client would, against
 * the real process started like `npm run example`.
 */
export function describeJourney(redis: boolean): void {
  describe(`example server with ${redis ? 'Redis' : 'memory stores'}`, () => {
    let server: ExampleProcess;
    const prefix = uniquePrefix('example');
    let adminPassword = ADMIN_PASSWORD;
    let userTokens: TokenPair;
    let adminToken: string;
    const secretsSeen: string[] = [USER_PASSWORD, METRICS_PASSWORD];

    beforeAll(async () => {
      const port = await freePort();
      server = await ExampleProcess.start({
        PORT: String(port),
        RATE_LIMIT_REQUESTS_PER_MINUTE: '1000',
        COST_BUDGET_TOKENS: '1000',
        METRICS_USERNAME,
        METRICS_PASSWORD,
        ...(redis
          ? { REDIS_URL: SHARED_REDIS_URL, BULWARK_REDIS_PREFIX: prefix, ADMIN_PASSWORD }
          : {}),
      });
      if (!redis) {
        const generated = /created with password: (\S+)/.exec(server.stdout)?.[1];
        expect(generated).toBeDefined();
        adminPassword = generated!;
      }
    });

    afterAll(async () => {
      await (server as ExampleProcess | undefined)?.stop();
      if (redis) await clearSharedKeys([prefix]);
    });

    async function login(username: string, password: string): Promise<TokenPair> {
      const res = await server.fetch('/auth/login', { json: { username, password } });
      expect(res.status).toBe(200);
      return (await res.json()) as TokenPair;
    }

    it('answers /health and reports the stores it uses', async () => {
      const res = await server.fetch('/health');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
      expect(res.headers.get('x-request-id')).toBeTruthy();
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(server.stdout).toContain(`stores: ${redis ? 'redis' : 'memory'}`);
    });

    it('answers unknown routes with a 404 problem', async () => {
      await expectProblem(await server.fetch('/nope'), 404, 'resource.not_found');
    });

    it('refuses a weak password at registration, listing the problems', async () => {
      const body = await expectProblem(
        await server.fetch('/auth/register', { json: { username: USER, password: 'password' } }),
        400,
        'password.weak',
      );
      const codes = (body.problems as { code: string }[]).map((problem) => problem.code);
      expect(codes).toEqual(expect.arrayContaining(['too_short', 'no_uppercase', 'common']));
      expect(JSON.stringify(body)).not.toContain('"password"');
    });

    it.each([
      [
        'an unknown key (mass assignment)',
        { username: USER, password: USER_PASSWORD, role: 'admin' },
      ],
      ['a non-string username', { username: { $ne: '' }, password: USER_PASSWORD }],
      ['a missing password', { username: USER }],
    ])('refuses registration with %s', async (_name, json) => {
      await expectProblem(await server.fetch('/auth/register', { json }), 400, 'validation.failed');
    });

    it('registers a user once', async () => {
      const res = await server.fetch('/auth/register', {
        json: { username: USER, password: USER_PASSWORD },
      });
      expect(res.status).toBe(201);
      const body = (await res.json()) as { id: string; username: string };
      expect(body).toEqual({ id: expect.any(String), username: USER });
      await expectProblem(
        await server.fetch('/auth/register', {
          json: { username: USER.toUpperCase(), password: USER_PASSWORD },
        }),
        409,
        'resource.conflict',
      );
    });

    it('refuses a wrong password and logs in with the right one', async () => {
      const wrong = await server.fetch('/auth/login', {
        json: { username: USER, password: 'Wrong-password-test-1' },
      });
      await expectProblem(wrong, 401, 'auth.invalid_credentials');
      userTokens = await login(USER, USER_PASSWORD);
      expect(userTokens.token_type).toBe('Bearer');
      expect(userTokens.expires_in).toBe(900);
      secretsSeen.push(userTokens.access_token, userTokens.refresh_token);
    });

    it('shows the caller on /me, and only with a valid bearer token', async () => {
      const res = await server.fetch('/me', { token: userTokens.access_token });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        sub: expect.any(String),
        username: USER,
        roles: ['user'],
      });
      expect(res.headers.get('cache-control')).toBe('no-store');

      const missing = await server.fetch('/me');
      await expectProblem(missing, 401, 'auth.missing_credentials');
      expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="api"');
      const forged = await server.fetch('/me', { token: `${userTokens.access_token}x` });
      await expectProblem(forged, 401, 'auth.invalid_token');
      expect(forged.headers.get('www-authenticate')).toContain('error="invalid_token"');
    });

    it('rotates refresh tokens and revokes the family when a spent one comes back', async () => {
      const first = userTokens.refresh_token;
      const res = await server.fetch('/auth/refresh', { json: { refresh_token: first } });
      expect(res.status).toBe(200);
      const rotated = (await res.json()) as TokenPair;
      secretsSeen.push(rotated.access_token, rotated.refresh_token);
      expect(rotated.refresh_token).not.toBe(first);

      await expectProblem(
        await server.fetch('/auth/refresh', { json: { refresh_token: first } }),
        401,
        'auth.refresh_reused',
      );
      // The thief and the user shared the family: its newest token is dead too.
      const successor = await server.fetch('/auth/refresh', {
        json: { refresh_token: rotated.refresh_token },
      });
      expect(successor.status).toBe(401);
    });

    it('logs out: the access token is refused afterwards', async () => {
      userTokens = await login(USER, USER_PASSWORD);
      secretsSeen.push(userTokens.access_token, userTokens.refresh_token);
      const res = await server.fetch('/auth/logout', {
        token: userTokens.access_token,
        json: { refresh_token: userTokens.refresh_token },
      });
      expect(res.status).toBe(204);
      await expectProblem(
        await server.fetch('/me', { token: userTokens.access_token }),
        401,
        'auth.token_revoked',
      );
      expect(
        (await server.fetch('/auth/refresh', { json: { refresh_token: userTokens.refresh_token } }))
          .status,
      ).toBe(401);
      userTokens = await login(USER, USER_PASSWORD);
      secretsSeen.push(userTokens.access_token, userTokens.refresh_token);
    });

    it('keeps admin routes for admins', async () => {
      adminToken = (await login('admin', adminPassword)).access_token;
      secretsSeen.push(adminToken);
      await expectProblem(
        await server.fetch('/admin/summary', { token: userTokens.access_token }),
        403,
        'auth.forbidden',
      );
      await expectProblem(
        await server.fetch('/admin/api-keys', {
          token: userTokens.access_token,
          json: { name: 'x' },
        }),
        403,
        'auth.forbidden',
      );
      await expectProblem(await server.fetch('/admin/summary'), 401, 'auth.missing_credentials');

      const res = await server.fetch('/admin/summary', { token: adminToken });
      expect(res.status).toBe(200);
      const summary = (await res.json()) as Record<string, unknown>;
      expect(summary).toMatchObject({
        stores: redis ? 'redis' : 'memory',
        provider: 'dry-run',
        users: 2,
      });
    });

    describe('API keys', () => {
      let key: { id: string; key: string };

      it('issues a key once, and the key authenticates /v1/whoami', async () => {
        const res = await server.fetch('/admin/api-keys', {
          token: adminToken,
          json: { name: 'ci', scopes: ['complete'] },
        });
        expect(res.status).toBe(201);
        key = (await res.json()) as { id: string; key: string };
        secretsSeen.push(key.key);
        expect(key.key).toMatch(/^bwk_[0-9a-f]{16}_[0-9a-f]{64}$/);

        const whoami = await server.fetch('/v1/whoami', { headers: { 'x-api-key': key.key } });
        expect(await whoami.json()).toEqual({ key_id: key.id, scopes: ['complete'] });
        const viaBearer = await server.fetch('/v1/whoami', { token: key.key });
        expect(viaBearer.status).toBe(200);

        const listed = await (await server.fetch('/admin/summary', { token: adminToken })).text();
        expect(listed).toContain(key.id);
        expect(listed).not.toContain(key.key);
      });

      it.each([
        ['no key', {}],
        ['a made-up key', { 'x-api-key': `bwk_${'0'.repeat(16)}_${'f'.repeat(64)}` }],
        ['a malformed key', { 'x-api-key': 'not-a-key' }],
      ])('refuses /v1/whoami with %s', async (_name, headers) => {
        const res = await server.fetch('/v1/whoami', { headers });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="api"/);
      });

      it('rotates with a grace period: both keys work until the grace ends', async () => {
        const res = await server.fetch(`/admin/api-keys/${key.id}/rotate`, {
          token: adminToken,
          json: { grace_seconds: 600 },
        });
        expect(res.status).toBe(201);
        const rotated = (await res.json()) as { id: string; key: string };
        secretsSeen.push(rotated.key);
        expect(rotated.id).toBe(key.id);
        expect(rotated.key).not.toBe(key.key);
        for (const value of [key.key, rotated.key]) {
          const whoami = await server.fetch('/v1/whoami', { headers: { 'x-api-key': value } });
          expect(whoami.status).toBe(200);
        }
        const old = key.key;
        key = rotated;

        // Without grace, the previous secret stops at once.
        const hard = await server.fetch(`/admin/api-keys/${key.id}/rotate`, {
          token: adminToken,
          json: { grace_seconds: 0 },
        });
        const newest = (await hard.json()) as { id: string; key: string };
        secretsSeen.push(newest.key);
        await expectProblem(
          await server.fetch('/v1/whoami', { headers: { 'x-api-key': key.key } }),
          401,
          'auth.invalid_api_key',
        );
        expect((await server.fetch('/v1/whoami', { headers: { 'x-api-key': old } })).status).toBe(
          401,
        );
        key = newest;
      });

      it('checks rotate and revoke input', async () => {
        await expectProblem(
          await server.fetch(`/admin/api-keys/${key.id}/rotate`, {
            token: adminToken,
            json: { grace_seconds: -1 },
          }),
          400,
          'validation.failed',
        );
        await expectProblem(
          await server.fetch('/admin/api-keys/not-an-id/rotate', {
            token: adminToken,
            json: { grace_seconds: 1 },
          }),
          400,
          'validation.failed',
        );
        await expectProblem(
          await server.fetch(`/admin/api-keys/${'0'.repeat(16)}/rotate`, {
            token: adminToken,
            json: { grace_seconds: 1 },
          }),
          404,
          'resource.not_found',
        );
      });

      it('lets an API key call /v1/echo and /v1/complete (with the complete scope)', async () => {
        const echo = await server.fetch('/v1/echo', {
          headers: { 'x-api-key': key.key },
          json: { message: 'hi' },
        });
        expect(await echo.json()).toEqual({ message: 'hi' });

        const complete = await server.fetch('/v1/complete', {
          headers: { 'x-api-key': key.key },
          json: { messages: [{ role: 'user', content: 'hello' }], max_tokens: 50 },
        });
        expect(complete.status).toBe(200);

        const res = await server.fetch('/admin/api-keys', {
          token: adminToken,
          json: { name: 'no-scopes' },
        });
        const unscoped = (await res.json()) as { id: string; key: string };
        secretsSeen.push(unscoped.key);
        await expectProblem(
          await server.fetch('/v1/complete', {
            headers: { 'x-api-key': unscoped.key },
            json: { messages: [{ role: 'user', content: 'hello' }], max_tokens: 50 },
          }),
          403,
          'auth.forbidden',
        );
      });

      it('revokes at once', async () => {
        const res = await server.fetch(`/admin/api-keys/${key.id}`, {
          method: 'DELETE',
          token: adminToken,
        });
        expect(res.status).toBe(204);
        await expectProblem(
          await server.fetch('/v1/whoami', { headers: { 'x-api-key': key.key } }),
          401,
          'auth.invalid_api_key',
        );
        await expectProblem(
          await server.fetch(`/admin/api-keys/${key.id}`, { method: 'DELETE', token: adminToken }),
          404,
          'resource.not_found',
        );
      });
    });

    describe('/v1/echo', () => {
      it('returns the parsed body to a bearer caller', async () => {
        const json = { message: 'hello', max_tokens: 10, temperature: 0.5 };
        const res = await server.fetch('/v1/echo', { token: userTokens.access_token, json });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual(json);
      });

      it.each([
        ['an unknown key', { message: 'hi', admin: true }],
        ['an empty message', { message: '' }],
        ['a message over 2000 characters', { message: 'x'.repeat(2001) }],
        ['max_tokens as a string', { message: 'hi', max_tokens: '5' }],
        ['a fractional max_tokens', { message: 'hi', max_tokens: 1.5 }],
        ['max_tokens over 4096', { message: 'hi', max_tokens: 4097 }],
        ['temperature over 2', { message: 'hi', temperature: 2.5 }],
        ['an array body', [{ message: 'hi' }]],
      ])('refuses %s', async (_name, json) => {
        const body = await expectProblem(
          await server.fetch('/v1/echo', { token: userTokens.access_token, json }),
          400,
          'validation.failed',
        );
        expect(body.errors).toEqual(expect.any(Array));
      });

      it('refuses a body with __proto__ and one nested too deep', async () => {
        const res = await fetch(`${server.url}/v1/echo`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${userTokens.access_token}`,
            'content-type': 'application/json',
          },
          body: '{"message":"hi","__proto__":{"admin":true}}',
          signal: AbortSignal.timeout(10_000),
        });
        await expectProblem(res, 400, 'request.forbidden_key');
        await expectProblem(
          await server.fetch('/v1/echo', {
            token: userTokens.access_token,
            json: { message: 'hi', nested: JSON.parse('['.repeat(100) + ']'.repeat(100)) },
          }),
          400,
          'request.too_deep',
        );
      });

      it('refuses callers with no credentials', async () => {
        const res = await server.fetch('/v1/echo', { json: { message: 'hi' } });
        await expectProblem(res, 401, 'auth.missing_credentials');
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"');
      });
    });

    describe('/files', () => {
      it('serves files under the workspace to bearer callers', async () => {
        const res = await server.fetch('/files/hello.txt', { token: userTokens.access_token });
        expect(res.status).toBe(200);
        expect(await res.text()).toContain('bulwark example workspace');
        const nested = await server.fetch('/files/docs/notes.md', {
          token: userTokens.access_token,
        });
        expect(nested.status).toBe(200);
        await expectProblem(
          await server.fetch('/files/hello.txt'),
          401,
          'auth.missing_credentials',
        );
        await expectProblem(
          await server.fetch('/files/missing.txt', { token: userTokens.access_token }),
          404,
          'resource.not_found',
        );
      });

      // fetch normalises `../` away, so these are encoded the way attackers send them.
      it.each([
        ['an encoded ../', '..%2fpackage.json'],
        ['an encoded dot-dot-slash', '%2e%2e%2f%2e%2e%2fetc%2fpasswd'],
        ['a climb out of a subfolder', 'docs%2f..%2f..%2fpackage.json'],
        ['an absolute path', '%2fetc%2fpasswd'],
        ['a backslash climb', '..%5c..%5cpackage.json'],
        ['a drive letter', 'C:%5cWindows%5cwin.ini'],
        ['a null byte', 'hello.txt%00.png'],
        ['a dotfile', '.env'],
        ['a .git folder', '.git%2fconfig'],
      ])('refuses %s', async (_name, path) => {
        const res = await server.fetch(`/files/${path}`, { token: userTokens.access_token });
        const body = await expectProblem(res, 400, 'path.traversal');
        expect(body.detail).toBe('The requested path is not allowed.');
      });

      it('refuses a raw ../ the client did not normalise', async () => {
        const res = await server.raw('/files/../../package.json', {
          authorization: `Bearer ${userTokens.access_token}`,
        });
        expect(res.status).toBe(400);
        expect(JSON.parse(res.body)).toMatchObject({ code: 'path.traversal' });
      });
    });

    describe('/v1/complete', () => {
      it('redacts the prompt before the (dry-run) provider and reports the counts', async () => {
        const res = await server.fetch('/v1/complete', {
          token: userTokens.access_token,
          json: {
            messages: [
              { role: 'system', content: 'You help with AWS.' },
              {
                role: 'user',
                content: `My key is ${FAKE_AWS_KEY}, mail me at ${FAKE_EMAIL} from 203.0.113.7`,
              },
            ],
            max_tokens: 100,
          },
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { output: string; redacted: Record<string, number> };
        expect(body.redacted).toEqual({ api_key: 1, email: 1, ip: 1 });
        expect(body.output).toContain('[dry run');
        expect(body.output).toContain('[REDACTED:email]');
        expect(body.output).not.toContain(FAKE_AWS_KEY);
        expect(body.output).not.toContain(FAKE_EMAIL);
        expect(res.headers.get('ratelimit-policy')).toContain('q=1000');
        expect(body).not.toHaveProperty('stale');
      });

      it('refuses a request over the remaining token budget with 429', async () => {
        // Budget 1000 per caller; the previous call settled to its real (small) usage.
        const res = await server.fetch('/v1/complete', {
          token: userTokens.access_token,
          json: { messages: [{ role: 'user', content: 'hello' }], max_tokens: 1000 },
        });
        await expectProblem(res, 429, 'rate_limit.budget_exceeded');
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        // A refused request costs nothing: a small one still fits.
        const small = await server.fetch('/v1/complete', {
          token: userTokens.access_token,
          json: { messages: [{ role: 'user', content: 'hello' }], max_tokens: 10 },
        });
        expect(small.status).toBe(200);
      });

      it.each([
        ['no max_tokens', { messages: [{ role: 'user', content: 'hi' }] }],
        ['an unknown role', { messages: [{ role: 'root', content: 'hi' }], max_tokens: 5 }],
        [
          'an extra message key',
          { messages: [{ role: 'user', content: 'hi', name: 'x' }], max_tokens: 5 },
        ],
        ['no messages', { messages: [], max_tokens: 5 }],
      ])('refuses %s', async (_name, json) => {
        await expectProblem(
          await server.fetch('/v1/complete', { token: userTokens.access_token, json }),
          400,
          'validation.failed',
        );
      });
    });

    describe('/debug/summarize-errors', () => {
      const logs = [
        `2026-01-01T10:00:00Z INFO user ${FAKE_EMAIL} logged in`,
        `2026-01-01T10:00:01Z ERROR payment failed for ${FAKE_EMAIL} with key ${FAKE_AWS_KEY}`,
        '    at charge (billing.js:10:5)',
        '{"level":"error","msg":"db down","url":"postgres://app:hunter2-test@db:5432/app"}',
      ].join('\n');

      it('is for admins only', async () => {
        await expectProblem(
          await server.fetch('/debug/summarize-errors', {
            token: userTokens.access_token,
            json: { logs },
          }),
          403,
          'auth.forbidden',
        );
      });

      it('returns the redacted error lines it would send, and a dry-run summary', async () => {
        const res = await server.fetch('/debug/summarize-errors', {
          token: adminToken,
          json: { logs },
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as {
          prompt: string;
          summary: string;
          redacted: Record<string, number>;
        };
        expect(body.prompt).toContain('ERROR payment failed for [REDACTED:email]');
        expect(body.prompt).toContain('at charge (billing.js:10:5)');
        expect(body.prompt).not.toContain('INFO');
        for (const secret of [FAKE_EMAIL, FAKE_AWS_KEY, 'hunter2-test']) {
          expect(body.prompt).not.toContain(secret);
          expect(body.summary).not.toContain(secret);
        }
        expect(body.redacted).toMatchObject({ email: 1, api_key: 1, url_credentials: 1 });
        expect(body.summary).toContain('[dry run');
      });
    });

    describe('/metrics', () => {
      const basic = (user: string, password: string): string =>
        `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

      it.each([
        ['no credentials', {}],
        ['a wrong password', { authorization: basic(METRICS_USERNAME, 'wrong-password-test-00') }],
        ['a bearer token', { authorization: 'Bearer abc' }],
      ])('refuses %s', async (_name, headers) => {
        const res = await server.fetch('/metrics', { headers });
        await expectProblem(res, 401, 'auth.invalid_credentials');
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="metrics"/);
      });

      it('serves Prometheus counters of what was blocked', async () => {
        const res = await server.fetch('/metrics', {
          headers: { authorization: basic(METRICS_USERNAME, METRICS_PASSWORD) },
        });
        expect(res.status).toBe(200);
        const text = await res.text();
        expect(text).toContain('# TYPE bulwark_security_events_total counter');
        expect(text).toMatch(
          /bulwark_security_events_total\{type="path.traversal_blocked",reason="[a-z_]+"\} \d+/,
        );
        expect(text).toMatch(/type="auth.refresh_reused"/);
      });
    });

    describe('CORS and Host', () => {
      it('answers a preflight from the allowed origin', async () => {
        const res = await server.fetch('/v1/echo', {
          method: 'OPTIONS',
          headers: { origin: DEV_ORIGIN, 'access-control-request-method': 'POST' },
        });
        expect(res.status).toBe(204);
        expect(res.headers.get('access-control-allow-origin')).toBe(DEV_ORIGIN);
      });

      it.each(['https://evil.example', 'null', `${DEV_ORIGIN}.evil.example`])(
        'refuses a preflight from %s',
        async (origin) => {
          const res = await server.fetch('/v1/echo', {
            method: 'OPTIONS',
            headers: { origin, 'access-control-request-method': 'POST' },
          });
          await expectProblem(res, 403, 'cors.rejected');
          expect(res.headers.get('access-control-allow-origin')).toBeNull();
        },
      );

      it('gives a foreign origin no CORS headers on a simple request', async () => {
        const res = await server.fetch('/health', { headers: { origin: 'https://evil.example' } });
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
      });

      it.each(['evil.example', 'localhost:1', 'user@localhost', '10.0.0.1'])(
        'refuses Host %s',
        async (host) => {
          const res = await server.raw('/me', { host });
          expect(res.status).toBe(400);
          expect(JSON.parse(res.body)).toMatchObject({ code: 'host.untrusted' });
        },
      );

      it('lets probes reach /health whatever their Host', async () => {
        expect((await server.raw('/health', { host: '10.0.0.1' })).status).toBe(200);
      });
    });

    it('limits login attempts per IP and username to 5 a minute', async () => {
      const attempt = (): Promise<Response> =>
        server.fetch('/auth/login', { json: { username: 'mallory', password: 'Guess-test-123!' } });
      for (let i = 0; i < 5; i++) {
        await expectProblem(await attempt(), 401, 'auth.invalid_credentials');
      }
      const blocked = await attempt();
      await expectProblem(blocked, 429, 'rate_limit.exceeded');
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another username from the same address is its own bucket.
      expect(
        (await server.fetch('/auth/login', { json: { username: USER, password: USER_PASSWORD } }))
          .status,
      ).toBe(200);
    });

    it('never writes a password, token or key to its output', () => {
      const output = server.stdout + server.stderr;
      for (const secret of secretsSeen) expect(output).not.toContain(secret);
      if (!redis) expect(output.split(adminPassword)).toHaveLength(2); // printed once, at start
    });

    it('shuts down gracefully on SIGTERM', async () => {
      expect(await server.stop()).toBe(0);
      expect(server.stdout).toContain('SIGTERM: finishing in-flight requests');
      expect(server.stdout).toContain('stopped');
    });
  });
}
