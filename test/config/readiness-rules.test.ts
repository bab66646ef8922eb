import { describe, expect, it } from 'vitest';
import type { BulwarkConfig, ReadinessCheckId, ReadinessStatus } from '../../src/index.js';
import {
  READINESS_RULES,
  type DotenvFacts,
  type ReadinessInput,
} from '../../src/config/readiness.js';
import { FAKE_METRICS_PASSWORD, fakeHexKey, fakeSecret, load } from './helpers.js';

// One table of cases per rule: each rule is a pure function of the config (and
// of what is known about .env), so each case states its input and the verdict.

type Patch = { [K in keyof BulwarkConfig]?: Partial<BulwarkConfig[K]> | BulwarkConfig[K] };

const BASE = load({});

function configWith(patch: Patch): BulwarkConfig {
  const merged: Record<string, unknown> = { ...BASE };
  for (const [key, value] of Object.entries(patch)) {
    const current: unknown = BASE[key as keyof BulwarkConfig];
    const nested = typeof current === 'object' && !Array.isArray(current) && !Array.isArray(value);
    merged[key] = nested ? Object.assign({}, current, value) : value;
  }
  return merged as unknown as BulwarkConfig;
}

type Case = [label: string, input: Patch | DotenvFacts, status: ReadinessStatus, message: string];

const STRONG = fakeSecret('readiness');
const OLD = fakeSecret('readiness-old');

const CASES: Record<ReadinessCheckId, Case[]> = {
  'jwt.secret_key': [
    ['unset', { jwt: { secretKey: undefined } }, 'fail', 'JWT_SECRET_KEY is not set'],
    ['strong', { jwt: { secretKey: STRONG } }, 'pass', 'JWT_SECRET_KEY is set and strong'],
    [
      'a placeholder',
      { jwt: { secretKey: 'changeme' } },
      'fail',
      'JWT_SECRET_KEY is a placeholder value',
    ],
    [
      'short',
      { jwt: { secretKey: 'FAKE-test-short-key' } },
      'fail',
      'JWT_SECRET_KEY is shorter than 32 bytes',
    ],
  ],
  'jwt.previous_secret_keys': [
    ['none', { jwt: { previousSecretKeys: [] } }, 'pass', 'JWT_PREVIOUS_SECRET_KEYS is not set'],
    [
      'one strong',
      { jwt: { previousSecretKeys: [OLD] } },
      'pass',
      'JWT_PREVIOUS_SECRET_KEYS holds 1 strong key(s)',
    ],
    [
      'weak ones, each named by position',
      { jwt: { previousSecretKeys: [OLD, 'FAKE-short', 'secret'] } },
      'fail',
      'JWT_PREVIOUS_SECRET_KEYS entry 2 is shorter than 32 bytes; JWT_PREVIOUS_SECRET_KEYS entry 3 is a placeholder value',
    ],
  ],
  'jwt.access_ttl': [
    [
      '15 minutes',
      { jwt: { accessTokenExpireMinutes: 15 } },
      'pass',
      'access tokens live 15 minutes',
    ],
    [
      '60 minutes',
      { jwt: { accessTokenExpireMinutes: 60 } },
      'pass',
      'access tokens live 60 minutes',
    ],
    [
      '61 minutes',
      { jwt: { accessTokenExpireMinutes: 61 } },
      'warn',
      'JWT_ACCESS_TOKEN_EXPIRE_MINUTES is 61: access tokens cannot be recalled once stolen, keep them at 60 minutes or less',
    ],
  ],
  'cors.allowed_origins': [
    [
      'empty',
      { cors: { allowedOrigins: [] } },
      'fail',
      'CORS_ALLOWED_ORIGINS is empty: list the exact origins allowed to call the API',
    ],
    [
      'every origin',
      { cors: { allowedOrigins: ['*'] } },
      'fail',
      'CORS_ALLOWED_ORIGINS allows every origin (*): list the exact origins instead',
    ],
    [
      'plain http off loopback',
      { cors: { allowedOrigins: ['https://a.example.com', 'http://b.example.com:8080'] } },
      'warn',
      'CORS_ALLOWED_ORIGINS allows plain-http origins: http://b.example.com:8080',
    ],
    [
      'plain http on loopback',
      {
        cors: {
          allowedOrigins: [
            'http://localhost:3000',
            'http://dev.localhost',
            'http://[::1]:3000',
            'http://127.0.0.1',
          ],
        },
      },
      'pass',
      'CORS_ALLOWED_ORIGINS lists 4 origin(s)',
    ],
    [
      'https and a wildcard',
      { cors: { allowedOrigins: ['https://app.example.com', 'https://*.example.com'] } },
      'pass',
      'CORS_ALLOWED_ORIGINS lists 2 origin(s)',
    ],
  ],
  trusted_hosts: [
    [
      'empty',
      { trustedHosts: [] },
      'fail',
      'TRUSTED_HOSTS is empty: any Host header is accepted (host-header injection)',
    ],
    [
      'every host (a config built by hand)',
      { trustedHosts: ['*'] },
      'fail',
      'TRUSTED_HOSTS allows every host (*)',
    ],
    [
      'two hosts',
      { trustedHosts: ['api.example.com', '*.example.com'] },
      'pass',
      'TRUSTED_HOSTS lists 2 host(s)',
    ],
  ],
  https_redirect: [
    ['on', { httpsRedirectEnabled: true }, 'pass', 'plain-http requests are redirected to https'],
    [
      'off',
      { httpsRedirectEnabled: false },
      'warn',
      'HTTPS_REDIRECT_ENABLED is off: make sure TLS is enforced in front of the app',
    ],
  ],
  'rate_limit.storage': [
    [
      'memory',
      { rateLimit: { storageUri: undefined, clusterNodes: [] } },
      'fail',
      'RATE_LIMIT_STORAGE_URI is not set: an in-memory store counts per process and resets on restart',
    ],
    [
      'Redis',
      { rateLimit: { storageUri: 'redis://cache:6379', clusterNodes: [] } },
      'pass',
      'rate limits are counted in Redis',
    ],
    [
      'Redis Cluster',
      { rateLimit: { storageUri: undefined, clusterNodes: ['redis://a:7000'] } },
      'pass',
      'rate limits are counted in Redis Cluster',
    ],
  ],
  'rate_limit.fallback': [
    [
      'on',
      { rateLimit: { inMemoryFallbackEnabled: true } },
      'fail',
      'RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED is on: a Redis outage would multiply every limit by the number of processes',
    ],
    [
      'off',
      { rateLimit: { inMemoryFallbackEnabled: false } },
      'pass',
      'the rate limiter fails closed when Redis is down',
    ],
  ],
  'auth.storage': [
    [
      'memory only',
      { database: { url: undefined }, rateLimit: { storageUri: undefined, clusterNodes: [] } },
      'fail',
      'auth data (sessions, revocations, API keys) would live only in memory: set DATABASE_URL (PostgreSQL), RATE_LIMIT_STORAGE_URI or REDIS_CLUSTER_NODES (Redis)',
    ],
    [
      'PostgreSQL',
      { database: { url: 'postgres://db/app' } },
      'pass',
      'auth data is kept in PostgreSQL (DATABASE_URL)',
    ],
    [
      'Redis',
      { rateLimit: { storageUri: 'redis://cache:6379', clusterNodes: [] } },
      'pass',
      'auth data is kept in Redis (RATE_LIMIT_STORAGE_URI or REDIS_CLUSTER_NODES); it survives a restart only if Redis persists to disk',
    ],
    [
      'Redis Cluster',
      { rateLimit: { storageUri: undefined, clusterNodes: ['redis://a:7000'] } },
      'pass',
      'auth data is kept in Redis (RATE_LIMIT_STORAGE_URI or REDIS_CLUSTER_NODES); it survives a restart only if Redis persists to disk',
    ],
  ],
  log_level: [
    ['info', { logLevel: 'info' }, 'pass', 'LOG_LEVEL is info'],
    ['silent', { logLevel: 'silent' }, 'pass', 'LOG_LEVEL is silent'],
    [
      'debug',
      { logLevel: 'debug' },
      'fail',
      'LOG_LEVEL is debug: verbose logs leak request data; use info or higher',
    ],
    [
      'trace',
      { logLevel: 'trace' },
      'fail',
      'LOG_LEVEL is trace: verbose logs leak request data; use info or higher',
    ],
  ],
  'encryption.key': [
    [
      'unset',
      { encryption: { key: undefined } },
      'warn',
      'ENCRYPTION_KEY is not set: stored provider keys cannot be sealed',
    ],
    [
      'random',
      { encryption: { key: fakeHexKey('current') } },
      'pass',
      'ENCRYPTION_KEY is a well-formed 256-bit key',
    ],
    ['all zeros', { encryption: { key: '0'.repeat(64) } }, 'fail', 'ENCRYPTION_KEY is all zeros'],
    [
      'one byte repeated',
      { encryption: { key: 'ab'.repeat(32) } },
      'fail',
      'ENCRYPTION_KEY is one byte repeated',
    ],
    [
      'patterned',
      { encryption: { key: '0123456789abcdef'.repeat(4) } },
      'fail',
      'ENCRYPTION_KEY has too few distinct bytes to be random',
    ],
  ],
  'encryption.previous_keys': [
    ['none', { encryption: { previousKeys: [] } }, 'pass', 'ENCRYPTION_PREVIOUS_KEYS is not set'],
    [
      'one random',
      { encryption: { previousKeys: [fakeHexKey('old')] } },
      'pass',
      'ENCRYPTION_PREVIOUS_KEYS holds 1 well-formed key(s)',
    ],
    [
      'a weak one',
      { encryption: { previousKeys: [fakeHexKey('old'), 'ab'.repeat(32)] } },
      'fail',
      'ENCRYPTION_PREVIOUS_KEYS entry 2 is one byte repeated',
    ],
  ],
  'metrics.password': [
    ['unset', { metrics: { password: undefined } }, 'pass', 'METRICS_PASSWORD is not set'],
    [
      'strong',
      { metrics: { password: FAKE_METRICS_PASSWORD } },
      'pass',
      'METRICS_PASSWORD is set and strong',
    ],
    [
      'a placeholder',
      { metrics: { password: 'password' } },
      'fail',
      'METRICS_PASSWORD is a placeholder value',
    ],
  ],
  'metrics.allow_ips': [
    ['unset', { metrics: { allowIps: [] } }, 'pass', 'METRICS_ALLOW_IPS is not set'],
    [
      'two ranges',
      { metrics: { allowIps: ['10.0.0.0/8', '::1'] } },
      'pass',
      'METRICS_ALLOW_IPS lists 2 address(es) or range(s)',
    ],
    [
      'every address (a config built by hand)',
      { metrics: { allowIps: ['10.0.0.0/8', '0.0.0.0/0', '::/0'] } },
      'fail',
      'METRICS_ALLOW_IPS allows every address (0.0.0.0/0, ::/0)',
    ],
  ],
  'dotenv.permissions': [
    ['no file', { kind: 'absent' }, 'pass', 'no .env file'],
    ['owner only', { kind: 'mode', mode: 0o100600 }, 'pass', '.env is readable by its owner only'],
    [
      'group-readable',
      { kind: 'mode', mode: 0o100640 },
      'warn',
      '.env is accessible to group or others (mode 640): run chmod 600 .env',
    ],
    [
      'world-readable',
      { kind: 'mode', mode: 0o100644 },
      'warn',
      '.env is accessible to group or others (mode 644): run chmod 600 .env',
    ],
    [
      'unreadable',
      { kind: 'unreadable', code: 'EACCES' },
      'warn',
      '.env cannot be inspected (EACCES)',
    ],
  ],
};

function inputOf(given: Patch | DotenvFacts): ReadinessInput {
  return 'kind' in given
    ? { config: BASE, dotenv: given }
    : { config: configWith(given), dotenv: { kind: 'absent' } };
}

describe('readiness rules', () => {
  it('has a table of cases for every rule, and a rule for every id, in checklist order', () => {
    expect(READINESS_RULES.map((rule) => rule.id)).toEqual(Object.keys(CASES));
  });

  describe.each(READINESS_RULES.map((rule) => [rule.id, rule] as const))('%s', (id, rule) => {
    it.each(CASES[id])('%s', (_label, given, status, message) => {
      expect(rule.judge(inputOf(given))).toEqual([status, message]);
    });
  });
});
