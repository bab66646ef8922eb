import { describe, expect, it } from 'vitest';
import {
  bodyLimits,
  corsPolicy,
  createSecurityLogger,
  createTokenService,
  memoryStore,
  protectMetrics,
  rateLimit,
  requestTimeout,
  trustedHosts,
  type BulwarkConfig,
  type ConfigVariable,
} from '../../src/index.js';
import { FAKE_JWT_KEY, load } from './helpers.js';

// One format, one parser: for every value, loadConfig() and the factory that
// receives the setting agree. A value loadConfig() accepts is accepted by the
// factory in the form loadConfig() hands on, and a value it refuses the factory
// refuses too (when given the same text, the factory's way).

function accepts(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

interface Format {
  variable: ConfigVariable;
  /** The factory given the raw value, as a user would pass it. */
  raw: (value: string) => unknown;
  /** The factory given what loadConfig() made of the value. */
  fromConfig: (config: BulwarkConfig) => unknown;
  values: readonly [value: string, accepted: boolean][];
}

const list = (value: string): string[] => value.split(',');
const tokens = (accessTtlSeconds: number, refreshTtlSeconds?: number) =>
  createTokenService({
    secret: FAKE_JWT_KEY,
    issuer: 'i',
    audience: 'a',
    accessTtlSeconds,
    ...(refreshTtlSeconds === undefined ? {} : { refreshTtlSeconds }),
    store: memoryStore(),
  });
const limiter = (limit: number, windowMs: number) => rateLimit({ limit, windowMs });

const FORMATS: Record<string, Format> = {
  origins: {
    variable: 'CORS_ALLOWED_ORIGINS',
    raw: (value) => corsPolicy({ origins: list(value) }),
    fromConfig: (config) => corsPolicy({ origins: config.cors.allowedOrigins }),
    values: [
      ['https://app.example.com', true],
      ['https://App.Example.com:443', true],
      ['https://app.example.com/', true],
      ['http://localhost:3000', true],
      ['https://[::1]:8443', true],
      ['https://*.example.com', true],
      ['https://*.example.com:8443', true],
      ['https://a.example.com,https://b.example.com', true],
      ['*', true],
      ['*,https://app.example.com', false],
      ['https://*.com', false],
      ['https://*.example.123', false],
      ['https://app.*.example.com', false],
      ['https://app.example.*', false],
      ['null', false],
      ['app.example.com', false],
      ['ftp://files.example.com', false],
      ['https://user:pw@app.example.com', false],
      ['https://app.example.com/path', false],
      ['https://app.example.com?x=1', false],
      ['https://app.example.com#top', false],
    ],
  },
  hosts: {
    variable: 'TRUSTED_HOSTS',
    raw: (value) => trustedHosts(list(value)),
    fromConfig: (config) => trustedHosts(config.trustedHosts),
    values: [
      ['api.example.com', true],
      ['API.example.com', true],
      ['api.example.com.', true],
      ['api.example.com:8443', true],
      ['api.example.com:*', true],
      ['*.example.com', true],
      ['*.example.com:*', true],
      ['127.0.0.1', true],
      ['[::1]:3000', true],
      ['api.example.com, www.example.com', true],
      ['*', false],
      ['*.com', false],
      ['my_host.example.com', false],
      ['http://api.example.com', false],
      ['api.example.com/path', false],
      ['bad host', false],
      ['api.example.com:99999', false],
      ['api.example.com:0', false],
      ['a..example.com', false],
      ['[::1', false],
      ['user@api.example.com', false],
    ],
  },
  cidrs: {
    variable: 'METRICS_ALLOW_IPS',
    raw: (value) => protectMetrics({ allowIps: list(value) }),
    fromConfig: (config) => protectMetrics({ allowIps: config.metrics.allowIps }),
    values: [
      ['10.0.0.0/8', true],
      ['192.168.1.7', true],
      ['::1', true],
      ['fd00::/8', true],
      ['::ffff:10.0.0.1', true],
      ['10.0.0.1/32, 2001:db8::/32', true],
      ['0.0.0.0/0', false],
      ['::/0', false],
      ['10.0.0.0/33', false],
      ['2001:db8::/129', false],
      ['10.0.0.0/08', false],
      ['fe80::1%eth0', false],
      ['not-an-ip', false],
      ['10.0.0.1/8/8', false],
      ['10.0.0.0/x', false],
      ['10.0.0.0/', false],
    ],
  },
  'access-token lifetime (minutes)': {
    variable: 'JWT_ACCESS_TOKEN_EXPIRE_MINUTES',
    raw: (value) => tokens(Number(value) * 60),
    fromConfig: (config) => tokens(config.jwt.accessTokenExpireMinutes * 60),
    values: [
      ['1', true],
      ['15', true],
      ['1440', true],
      ['1441', false],
      ['0', false],
    ],
  },
  'refresh-token lifetime (days)': {
    variable: 'JWT_REFRESH_TOKEN_EXPIRE_DAYS',
    raw: (value) => tokens(900, Number(value) * 86_400),
    fromConfig: (config) => tokens(900, config.jwt.refreshTokenExpireDays * 86_400),
    values: [
      ['1', true],
      ['14', true],
      ['365', true],
      ['366', false],
      ['0', false],
    ],
  },
  'rate-limit window (seconds)': {
    variable: 'RATE_LIMIT_WINDOW_SECONDS',
    raw: (value) => limiter(100, Number(value) * 1000),
    fromConfig: (config) => limiter(100, config.rateLimit.windowSeconds * 1000),
    values: [
      ['1', true],
      ['60', true],
      ['2147483', true],
      ['2147484', false],
      ['0', false],
    ],
  },
  'requests per window': {
    variable: 'RATE_LIMIT_REQUESTS_PER_MINUTE',
    raw: (value) => limiter(Number(value), 60_000),
    fromConfig: (config) => limiter(config.rateLimit.requestsPerMinute, 60_000),
    values: [
      ['1', true],
      ['1000000000', true],
      ['1000000001', false],
      ['0', false],
    ],
  },
  'request timeout (ms)': {
    variable: 'REQUEST_TIMEOUT_MS',
    raw: (value) => requestTimeout(Number(value)),
    fromConfig: (config) => requestTimeout(config.requestTimeoutMs),
    values: [
      ['1', true],
      ['30000', true],
      ['2147483647', true],
      ['2147483648', false],
      ['0', false],
    ],
  },
  'body size (bytes)': {
    variable: 'MAX_BODY_BYTES',
    raw: (value) => bodyLimits({ maxBytes: Number(value) }),
    fromConfig: (config) => bodyLimits({ maxBytes: config.maxBodyBytes }),
    values: [
      ['1', true],
      ['1073741824', true],
      ['1073741825', false],
      ['0', false],
    ],
  },
  'log level': {
    variable: 'LOG_LEVEL',
    raw: (value) => createSecurityLogger({ level: value as never }),
    fromConfig: (config) => createSecurityLogger({ level: config.logLevel }),
    values: [
      ['trace', true],
      ['debug', true],
      ['info', true],
      ['warn', true],
      ['error', true],
      ['fatal', true],
      ['silent', true],
      ['verbose', false],
      ['30', false],
    ],
  },
};

describe.each(Object.entries(FORMATS))('%s: loadConfig() and the factory agree', (_name, f) => {
  it.each(f.values)(`${f.variable}=%j accepted: %s`, (value, accepted) => {
    const read = (): BulwarkConfig => load({ [f.variable]: value });
    expect(accepts(read)).toBe(accepted);
    expect(accepts(() => f.raw(value))).toBe(accepted);
    if (accepted) expect(accepts(() => f.fromConfig(read()))).toBe(true);
  });
});
