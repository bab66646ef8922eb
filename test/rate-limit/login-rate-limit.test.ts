import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { BulwarkConfigError, loginRateLimit, type LoginRateLimitOptions } from '../../src/index.js';
import { EXPRESS_VERSIONS, jsonApp, type ExpressFactory } from '../helpers/express.js';

function loginApp(factory: ExpressFactory, options?: LoginRateLimitOptions) {
  const app = jsonApp(factory);
  const state = { attempts: 0 };
  app.post('/login', loginRateLimit(options), (req, res) => {
    state.attempts++;
    const ok = (req.body as { password?: unknown }).password === 'correct-test-password';
    res.status(ok ? 200 : 401).json({ ok });
  });
  return { app, state };
}

describe.each(EXPRESS_VERSIONS)('loginRateLimit on %s', (_name, factory) => {
  it('allows 5 failed attempts per username a minute by default, then answers 429', async () => {
    const { app, state } = loginApp(factory);
    const statuses = [];
    for (let i = 0; i < 7; i++) {
      statuses.push(
        (await request(app).post('/login').send({ username: 'dave', password: 'wrong-test' }))
          .status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    expect(state.attempts).toBe(5);
    const res = await request(app)
      .post('/login')
      .send({ username: 'dave', password: 'wrong-test' });
    expect(res.body).toMatchObject({ code: 'rate_limit.exceeded', status: 429 });
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    // Both policies are announced (draft-8 lists several): per IP and username, and per IP.
    expect(res.headers['ratelimit-policy']).toMatch(/"5-in-60s"; q=5; w=60;/);
    expect(res.headers['ratelimit-policy']).toMatch(/"20-in-900s"; q=20; w=900;/);
  });

  it('refuses password spraying: 20 failed logins from one IP across usernames, then 429', async () => {
    const { app, state } = loginApp(factory);
    const statuses = [];
    for (let i = 0; i < 22; i++) {
      statuses.push(
        (
          await request(app)
            .post('/login')
            .send({ username: `user-${String(i)}`, password: 'Spring2026!-test' })
        ).status,
      );
    }
    expect(statuses).toEqual([...Array<number>(20).fill(401), 429, 429]);
    expect(state.attempts).toBe(20);
    const res = await request(app)
      .post('/login')
      .send({ username: 'fresh-user', password: 'correct-test-password' });
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('rate_limit.exceeded');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(state.attempts).toBe(20);
  });

  it.each([
    [{ ipLimit: 3 }, [401, 401, 401, 429], 3],
    [{ ipLimit: 3, ipWindowMs: 60_000 }, [401, 401, 401, 429], 3],
    [{ ipLimit: false as const }, [401, 401, 401, 401], 4],
  ])('takes %j for the per-IP limit', async (options, expected, attempts) => {
    const { app, state } = loginApp(factory, options);
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (
          await request(app)
            .post('/login')
            .send({ username: `u${String(i)}`, password: 'x-test' })
        ).status,
      );
    }
    expect(statuses).toEqual(expected);
    expect(state.attempts).toBe(attempts);
  });

  it.each([500, 503])(
    'does not count a %i (no password checked) as a failed guess',
    async (status) => {
      const app = factory();
      app.use(factory.json());
      let attempts = 0;
      app.post('/login', loginRateLimit({ limit: 2, ipLimit: 2 }), (_req, res) => {
        attempts++;
        res.status(status).json({});
      });
      const statuses = [];
      for (let i = 0; i < 5; i++) {
        statuses.push(
          (await request(app).post('/login').send({ username: 'olga', password: 'x-test' })).status,
        );
      }
      expect(statuses).toEqual(Array<number>(5).fill(status));
      expect(attempts).toBe(5);
    },
  );

  it('does not count successful logins against the per-IP limit', async () => {
    const { app } = loginApp(factory, { ipLimit: 2 });
    for (let i = 0; i < 5; i++) {
      const ok = await request(app)
        .post('/login')
        .send({ username: `member-${String(i)}`, password: 'correct-test-password' });
      expect(ok.status).toBe(200);
    }
  });

  it.each([
    ['case and spaces', ['Erin', ' erin', 'ERIN ', 'erin\t', 'eRiN', 'erin']],
    ['compatibility forms', ['ｅｒｉｎ', 'erin', 'ＥＲＩＮ', 'erin', 'Erin', 'erin']],
  ])('treats spellings differing by %s as one username', async (_case, spellings) => {
    const { app } = loginApp(factory);
    const statuses = [];
    for (const username of spellings) {
      statuses.push(
        (await request(app).post('/login').send({ username, password: 'wrong-test' })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it.each<[string, unknown]>([
    ['no body member', { password: 'wrong-test' }],
    ['a number', { username: 12345, password: 'wrong-test' }],
    ['an array', { username: ['a', 'b'], password: 'wrong-test' }],
    ['an object', { username: { $ne: '' }, password: 'wrong-test' }],
    ['whitespace', { username: '   ', password: 'wrong-test' }],
  ])('keys a username that is %s by IP alone', async (_case, body) => {
    const { app } = loginApp(factory, { limit: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push(
        (
          await request(app)
            .post('/login')
            .send(body as object)
        ).status,
      );
    expect(statuses).toEqual([401, 401, 429]);
  });

  it('caps the username length before hashing (one bucket for very long names sharing a prefix)', async () => {
    const { app } = loginApp(factory, { limit: 1 });
    const long = 'f'.repeat(300);
    expect(
      (
        await request(app)
          .post('/login')
          .send({ username: `${long}1` })
      ).status,
    ).toBe(401);
    expect(
      (
        await request(app)
          .post('/login')
          .send({ username: `${long}2` })
      ).status,
    ).toBe(429);
  });

  it('gives other usernames from the same address their own attempts', async () => {
    const { app } = loginApp(factory, { limit: 1 });
    expect((await request(app).post('/login').send({ username: 'frank' })).status).toBe(401);
    expect((await request(app).post('/login').send({ username: 'frank' })).status).toBe(429);
    expect((await request(app).post('/login').send({ username: 'grace' })).status).toBe(401);
  });

  it('does not count successful logins by default', async () => {
    const { app } = loginApp(factory, { limit: 2 });
    for (let i = 0; i < 5; i++) {
      const ok = await request(app)
        .post('/login')
        .send({ username: 'heidi', password: 'correct-test-password' });
      expect(ok.status).toBe(200);
    }
  });

  it('counts successful logins when skipSuccessfulRequests is false', async () => {
    const { app } = loginApp(factory, { limit: 2, skipSuccessfulRequests: false });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (
          await request(app)
            .post('/login')
            .send({ username: 'ivan', password: 'correct-test-password' })
        ).status,
      );
    }
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('cannot be raced: parallel guesses beyond the limit are refused', async () => {
    const { app, state } = loginApp(factory, { limit: 3 });
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        request(app).post('/login').send({ username: 'judy', password: 'wrong-test' }),
      ),
    );
    expect(results.filter((r) => r.status === 429)).toHaveLength(9);
    expect(state.attempts).toBe(3);
  });

  it('reads the username from usernameField', async () => {
    const { app } = loginApp(factory, { limit: 1, usernameField: 'email' });
    expect((await request(app).post('/login').send({ email: 'k@example.com' })).status).toBe(401);
    expect((await request(app).post('/login').send({ email: 'K@example.com' })).status).toBe(429);
    expect((await request(app).post('/login').send({ email: 'l@example.com' })).status).toBe(401);
  });
});

describe('loginRateLimit options', () => {
  it.each<[string, unknown]>([
    ['limit 0', { limit: 0 }],
    ['limit NaN', { limit: Number.NaN }],
    ['limit Infinity', { limit: Number.POSITIVE_INFINITY }],
    ["limit '5'", { limit: '5' }],
    ['limit null', { limit: null }],
    ['limit {}', { limit: {} }],
    ['windowMs -1', { windowMs: -1 }],
    ["usernameField ''", { usernameField: '' }],
    ['usernameField 5', { usernameField: 5 }],
    ["skipSuccessfulRequests 'true'", { skipSuccessfulRequests: 'true' }],
    ['keyBy (not a login option)', { keyBy: 'ip' }],
    ['ipLimit 0', { ipLimit: 0 }],
    ['ipLimit true', { ipLimit: true }],
    ["ipLimit '20'", { ipLimit: '20' }],
    ['ipWindowMs 10', { ipWindowMs: 10 }],
    ['usernameKey too short', { usernameKey: 'test-FAKE-short' }],
    ['usernameKey a number', { usernameKey: 12345 }],
    ['unknown key', { maxAttempts: 5 }],
  ])('refuses %s', (_case, options) => {
    expect(() => loginRateLimit(options as LoginRateLimitOptions)).toThrow(BulwarkConfigError);
  });

  it('returns a named middleware', () => {
    expect(loginRateLimit().name).toBe('loginRateLimitMiddleware');
  });
});
