import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { rateLimit } from '../../src/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express.js';
import { captureWarnings } from '../helpers/warnings.js';

// Each warning is once per process, so each is checked once, on Express 5 and 4 in turn.
describe('trust proxy start-up warnings', () => {
  it('stays quiet for a correctly configured app', async () => {
    const warnings = captureWarnings();
    for (const [, factory] of EXPRESS_VERSIONS) {
      const app = factory();
      app.set('trust proxy', 1);
      app.use(rateLimit());
      app.get('/', (_req, res) => res.end());
      await request(app).get('/').set('X-Forwarded-For', '203.0.113.1');
      await request(app).get('/');
    }
    expect(warnings.codes()).toEqual([]);
  });

  it('warns once when X-Forwarded-For arrives while trust proxy is off', async () => {
    const warnings = captureWarnings();
    const [[, express5], [, express4]] = EXPRESS_VERSIONS;
    for (const factory of [express5, express4]) {
      const app = factory();
      app.use(rateLimit());
      app.get('/', (_req, res) => res.end());
      for (let i = 0; i < 3; i++) await request(app).get('/').set('X-Forwarded-For', '203.0.113.1');
    }
    expect(warnings.codes()).toEqual(['BULWARK_TRUST_PROXY_UNSET']);
  });

  it('warns once when trust proxy is true', async () => {
    const warnings = captureWarnings();
    const [[, express5], [, express4]] = EXPRESS_VERSIONS;
    for (const factory of [express4, express5]) {
      const app = factory();
      app.set('trust proxy', true);
      app.use(rateLimit());
      app.get('/', (_req, res) => res.end());
      for (let i = 0; i < 3; i++) await request(app).get('/');
    }
    expect(warnings.codes()).toEqual(['BULWARK_TRUST_PROXY_PERMISSIVE']);
  });

  it("passes express-rate-limit's own checks on as coded process warnings", async () => {
    const warnings = captureWarnings();
    const app = EXPRESS_VERSIONS[0][1]();
    app.get('/', (_req, res) => {
      // A limiter made per request never limits anything; express-rate-limit detects it.
      rateLimit();
      res.end();
    });
    await request(app).get('/');
    expect(warnings.codes()).toEqual(['ERR_ERL_CREATED_IN_REQUEST_HANDLER']);
  });
});
