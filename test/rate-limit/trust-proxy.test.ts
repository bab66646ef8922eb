import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rateLimit } from '../../src/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express.js';

// warnOnce is process-wide, so each warning is checked once, on Express 5 and 4 in turn.
describe('trust proxy start-up warnings', () => {
  let codes: string[];
  const onWarning = (warning: Error & { code?: string }) => {
    if (warning.code !== undefined) codes.push(warning.code);
  };
  beforeEach(() => {
    codes = [];
    process.on('warning', onWarning);
  });
  afterEach(() => {
    process.off('warning', onWarning);
  });
  const tick = () => new Promise((r) => setImmediate(r));

  it('stays quiet for a correctly configured app', async () => {
    for (const [, factory] of EXPRESS_VERSIONS) {
      const app = factory();
      app.set('trust proxy', 1);
      app.use(rateLimit());
      app.get('/', (_req, res) => res.end());
      await request(app).get('/').set('X-Forwarded-For', '203.0.113.1');
      await request(app).get('/');
    }
    await tick();
    expect(codes).toEqual([]);
  });

  it('warns once when X-Forwarded-For arrives while trust proxy is off', async () => {
    const [[, express5], [, express4]] = EXPRESS_VERSIONS;
    for (const factory of [express5, express4]) {
      const app = factory();
      app.use(rateLimit());
      app.get('/', (_req, res) => res.end());
      for (let i = 0; i < 3; i++) await request(app).get('/').set('X-Forwarded-For', '203.0.113.1');
    }
    await tick();
    expect(codes).toEqual(['BULWARK_TRUST_PROXY_UNSET']);
  });

  it('warns once when trust proxy is true', async () => {
    const [[, express5], [, express4]] = EXPRESS_VERSIONS;
    for (const factory of [express4, express5]) {
      const app = factory();
      app.set('trust proxy', true);
      app.use(rateLimit());
      app.get('/', (_req, res) => res.end());
      for (let i = 0; i < 3; i++) await request(app).get('/');
    }
    await tick();
    expect(codes).toEqual(['BULWARK_TRUST_PROXY_PERMISSIVE']);
  });

  it("passes express-rate-limit's own checks on as coded process warnings", async () => {
    const app = EXPRESS_VERSIONS[0][1]();
    app.get('/', (_req, res) => {
      // A limiter made per request never limits anything; express-rate-limit detects it.
      rateLimit();
      res.end();
    });
    await request(app).get('/');
    await tick();
    expect(codes).toEqual(['ERR_ERL_CREATED_IN_REQUEST_HANDLER']);
  });
});
