import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  productionReadiness,
  type ProductionReadinessOptions,
  type ReadinessCheck,
} from '../../src/index.js';
import {
  FAKE_METRICS_PASSWORD,
  READY_ENV,
  fakeHexKey,
  fakeSecret,
  load,
  problemsOf,
  tempDir,
} from './helpers.js';

/** Fails every production check at once, and trips both production warnings. */
const UNSAFE_ENV: NodeJS.ProcessEnv = {
  ENVIRONMENT: 'production',
  JWT_SECRET_KEY: 'changeme',
  JWT_PREVIOUS_SECRET_KEYS: 'FAKE-short,dev-insecure-FAKE-0123456789abcdef0123456789',
  JWT_ACCESS_TOKEN_EXPIRE_MINUTES: '120',
  CORS_ALLOWED_ORIGINS: '*',
  RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED: 'true',
  HTTPS_REDIRECT_ENABLED: 'false',
  LOG_LEVEL: 'debug',
  ENCRYPTION_KEY: '0'.repeat(64),
  ENCRYPTION_PREVIOUS_KEYS: 'ab'.repeat(32),
  METRICS_USERNAME: 'metrics',
  METRICS_PASSWORD: 'password',
  METRICS_ALLOW_IPS: '10.0.0.0/8',
};

/** READY_ENV with no Redis, so where auth data lives is left to the case. */
function withoutStorage(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...READY_ENV };
  delete env.RATE_LIMIT_STORAGE_URI;
  return env;
}

describe('loadConfig in production', () => {
  it('throws one error listing every failed check', () => {
    let thrown: unknown;
    try {
      load(UNSAFE_ENV);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BulwarkConfigError);
    expect((thrown as BulwarkConfigError).problems).toEqual([
      'JWT_SECRET_KEY is a placeholder value',
      'JWT_PREVIOUS_SECRET_KEYS entry 1 is shorter than 32 bytes; JWT_PREVIOUS_SECRET_KEYS entry 2 is a generated development secret (starts with "dev-insecure-")',
      'CORS_ALLOWED_ORIGINS allows every origin (*): list the exact origins instead',
      'TRUSTED_HOSTS is empty: any Host header is accepted (host-header injection)',
      'RATE_LIMIT_STORAGE_URI is not set: an in-memory store counts per process and resets on restart',
      'RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED is on: a Redis outage would multiply every limit by the number of processes',
      'auth data (sessions, revocations, API keys) would live only in memory: set DATABASE_URL (PostgreSQL), RATE_LIMIT_STORAGE_URI or REDIS_CLUSTER_NODES (Redis)',
      'LOG_LEVEL is debug: verbose logs leak request data; use info or higher',
      'ENCRYPTION_KEY is all zeros',
      'ENCRYPTION_PREVIOUS_KEYS entry 1 is one byte repeated',
      'METRICS_PASSWORD is a placeholder value',
    ]);
    expect((thrown as Error).message).toMatch(/^loadConfig: 11 configuration problems:\n {2}- /);
  });

  it.each([
    [{}, 'fail', 'would live only in memory'],
    [{ DATABASE_URL: 'postgres://db.internal/app' }, 'pass', 'PostgreSQL (DATABASE_URL)'],
    [{ RATE_LIMIT_STORAGE_URI: 'redis://cache.internal:6379' }, 'pass', 'Redis'],
    [{ REDIS_URL: 'redis://cache.internal:6379' }, 'pass', 'Redis'],
  ])('judges where auth data lives with %j: %s', (env, status, message) => {
    const rest = withoutStorage();
    const checks = productionReadiness(load({ ...rest, ENVIRONMENT: 'development', ...env }));
    const found = checks.find((c) => c.id === 'auth.storage');
    expect(found?.status).toBe(status);
    expect(found?.message).toContain(message);
  });

  it('refuses production with auth data only in memory, naming both ways out', () => {
    const rest = withoutStorage();
    const problems = problemsOf(() => load(rest));
    expect(problems).toContain(
      'auth data (sessions, revocations, API keys) would live only in memory: set DATABASE_URL (PostgreSQL), RATE_LIMIT_STORAGE_URI or REDIS_CLUSTER_NODES (Redis)',
    );
  });

  it('lists the other failure forms together too, with malformed values first', () => {
    expect(
      problemsOf(() =>
        load({
          ENVIRONMENT: 'prod',
          TRUSTED_HOSTS: '*',
          LOG_LEVEL: 'trace',
          MAX_BODY_BYTES: '-1',
          RATE_LIMIT_STORAGE_URI: 'redis://cache.internal:6379',
        }),
      ),
    ).toEqual([
      'TRUSTED_HOSTS has malformed entries ("*"): expected host names like api.example.com, *.example.com, api.example.com:8443 or api.example.com:* (not *: leave TRUSTED_HOSTS unset to skip the check outside production)',
      'MAX_BODY_BYTES must be a whole number from 1 to 1073741824, got "-1"',
      'JWT_SECRET_KEY is not set',
      'CORS_ALLOWED_ORIGINS is empty: list the exact origins allowed to call the API',
      'LOG_LEVEL is trace: verbose logs leak request data; use info or higher',
    ]);
  });

  it('accepts a production-ready configuration and reports its warnings', () => {
    const config = load({
      ...READY_ENV,
      JWT_ACCESS_TOKEN_EXPIRE_MINUTES: '61',
      HTTPS_REDIRECT_ENABLED: 'off',
    });
    expect(config.production).toBe(true);
    expect(config.warnings).toEqual([
      'JWT_ACCESS_TOKEN_EXPIRE_MINUTES is 61: access tokens cannot be recalled once stolen, keep them at 60 minutes or less',
      'HTTPS_REDIRECT_ENABLED is off: make sure TLS is enforced in front of the app',
    ]);
  });

  it('does not enforce the checks outside production', () => {
    const config = load({ ...UNSAFE_ENV, ENVIRONMENT: 'development' });
    expect(config.production).toBe(false);
    expect(config.jwt.secretKey).toBe('changeme');
    expect(config.warnings).toEqual([
      'JWT_ACCESS_TOKEN_EXPIRE_MINUTES is 120: access tokens cannot be recalled once stolen, keep them at 60 minutes or less',
    ]);
  });

  it.each([
    ['changeme', 'is a placeholder value'],
    ['change-me', 'is a placeholder value'],
    ['CHANGEME', 'is a placeholder value'],
    ['"changeme"', 'is a placeholder value'],
    ['secret', 'is a placeholder value'],
    ['password', 'is a placeholder value'],
    ['sk-your-secret-key', 'is a placeholder value'],
    ['your-secret-key', 'is a placeholder value'],
    ['your-super-secret-jwt-key-change-this-in-production', 'is a placeholder value'],
    ['FAKE-placeholder-0123456789abcdef0123456789', 'is a placeholder value'],
    [
      'dev-insecure-FAKE-0123456789abcdef0123456789abcdef',
      'is a generated development secret (starts with "dev-insecure-")',
    ],
    ['a'.repeat(64), 'is one character repeated'],
    ['FAKE-test-short-key', 'is shorter than 32 bytes'],
    ['FAKE-test-0123456789abcdef-31by', 'is shorter than 32 bytes'],
  ])('refuses JWT_SECRET_KEY=%s', (value, why) => {
    expect(problemsOf(() => load({ ...READY_ENV, JWT_SECRET_KEY: value }))).toEqual([
      `JWT_SECRET_KEY ${why}`,
    ]);
  });

  it('counts bytes, not characters, for the 32-byte minimum', () => {
    // Each accented letter is two bytes in UTF-8: 8 + 2 * 12 = 32 bytes in 20 characters.
    const enough = 'FAKEt3sT' + 'éàçñøåßüöäëï';
    expect(load({ ...READY_ENV, JWT_SECRET_KEY: enough }).jwt.secretKey).toBe(enough);
    const short = enough.slice(0, -1);
    expect(problemsOf(() => load({ ...READY_ENV, JWT_SECRET_KEY: short }))).toEqual([
      'JWT_SECRET_KEY is shorter than 32 bytes',
    ]);
  });

  it.each([
    ['0'.repeat(64), 'is all zeros'],
    ['ab'.repeat(32), 'is one byte repeated'],
    ['0123456789abcdef'.repeat(4), 'has too few distinct bytes to be random'],
  ])('refuses ENCRYPTION_KEY=%s', (value, why) => {
    expect(problemsOf(() => load({ ...READY_ENV, ENCRYPTION_KEY: value }))).toEqual([
      `ENCRYPTION_KEY ${why}`,
    ]);
  });

  it('checks METRICS_PASSWORD only when it is set', () => {
    expect(
      problemsOf(() =>
        load({ ...READY_ENV, METRICS_USERNAME: 'metrics', METRICS_PASSWORD: 'FAKE-short' }),
      ),
    ).toEqual(['METRICS_PASSWORD is shorter than 32 bytes']);
    expect(load(READY_ENV).metrics.password).toBeUndefined();
  });
});

describe('productionReadiness', () => {
  const statuses = (checks: readonly ReadinessCheck[]) =>
    Object.fromEntries(checks.map((c) => [c.id, c.status]));

  it('judges any config as if it ran in production, as data', () => {
    const cwd = tempDir();
    const loaded = load({ ...UNSAFE_ENV, ENVIRONMENT: 'development' }, { cwd });
    // loadConfig() refuses a /0 range; a config built by hand can still hold one.
    const config = { ...loaded, metrics: { ...loaded.metrics, allowIps: ['0.0.0.0/0'] } };
    const checks = productionReadiness(config, { cwd });
    expect(statuses(checks)).toEqual({
      'jwt.secret_key': 'fail',
      'jwt.previous_secret_keys': 'fail',
      'jwt.access_ttl': 'warn',
      'cors.allowed_origins': 'fail',
      trusted_hosts: 'fail',
      https_redirect: 'warn',
      'rate_limit.storage': 'fail',
      'rate_limit.fallback': 'fail',
      'auth.storage': 'fail',
      log_level: 'fail',
      'encryption.key': 'fail',
      'encryption.previous_keys': 'fail',
      'metrics.password': 'fail',
      'metrics.allow_ips': 'fail',
      'dotenv.permissions': 'pass',
    });
    for (const check of checks) {
      expect(Object.keys(check).sort()).toEqual(['id', 'message', 'status']);
      expect(check.message).not.toBe('');
    }
  });

  it('passes every check for a production-ready config', () => {
    const cwd = tempDir();
    const config = load(
      {
        ...READY_ENV,
        JWT_PREVIOUS_SECRET_KEYS: fakeSecret('previous'),
        ENCRYPTION_PREVIOUS_KEYS: fakeHexKey('previous'),
        METRICS_USERNAME: 'metrics',
        METRICS_PASSWORD: FAKE_METRICS_PASSWORD,
        METRICS_ALLOW_IPS: '10.0.0.0/8',
        CORS_ALLOWED_ORIGINS: 'https://app.example.com,http://localhost:3000,http://127.0.0.1:8080',
      },
      { cwd },
    );
    const checks = productionReadiness(config, { cwd });
    expect(checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(checks).toHaveLength(15);
    expect(checks.find((c) => c.id === 'jwt.previous_secret_keys')?.message).toBe(
      'JWT_PREVIOUS_SECRET_KEYS holds 1 strong key(s)',
    );
  });

  it.each([
    ['http://app.example.com', 'warn'],
    ['https://app.example.com,http://api.example.com:8080', 'warn'],
    ['http://localhost:3000', 'pass'],
    ['http://dev.localhost', 'pass'],
    ['http://[::1]:3000', 'pass'],
    ['http://127.0.0.1', 'pass'],
    ['https://*.example.com', 'pass'],
  ])('CORS_ALLOWED_ORIGINS=%s is a %s', (origins, status) => {
    const config = load({ CORS_ALLOWED_ORIGINS: origins });
    const check = productionReadiness(config).find((c) => c.id === 'cors.allowed_origins');
    expect(check?.status).toBe(status);
  });

  it('names the plain-http origins in the warning and in production warnings', () => {
    const config = load({ ...READY_ENV, CORS_ALLOWED_ORIGINS: 'http://app.example.com' });
    expect(config.warnings).toEqual([
      'CORS_ALLOWED_ORIGINS allows plain-http origins: http://app.example.com',
    ]);
  });

  it.each([
    [60, 'pass'],
    [61, 'warn'],
  ])('an access TTL of %i minutes is a %s', (minutes, status) => {
    const config = load({ JWT_ACCESS_TOKEN_EXPIRE_MINUTES: String(minutes) });
    expect(productionReadiness(config).find((c) => c.id === 'jwt.access_ttl')?.status).toBe(status);
  });

  it('works on a config built by hand', () => {
    const config = { ...load(READY_ENV), trustedHosts: [] };
    const check = productionReadiness(config, { cwd: tempDir() }).find(
      (c) => c.id === 'trusted_hosts',
    );
    expect(check?.status).toBe('fail');
  });

  it.each([
    ['no config', undefined, undefined, 'config must be the result of loadConfig()'],
    ['a string config', 'production', undefined, 'config must be the result of loadConfig()'],
    ['an unknown option', 'config', { cdw: '/tmp' }, 'unknown option `cdw`. Did you mean `cwd`?'],
    ['a numeric cwd', 'config', { cwd: 5 }, '`cwd` must be a string, got 5'],
  ])('refuses %s', (_label, config, options, message) => {
    const given = config === 'config' ? load({}) : config;
    expect(
      problemsOf(() =>
        productionReadiness(
          given as Parameters<typeof productionReadiness>[0],
          options as ProductionReadinessOptions,
        ),
      ),
    ).toEqual([message]);
  });
});
