import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  CONFIG_VARIABLES,
  loadConfig,
  type BulwarkConfig,
  type ConfigVariable,
  type LoadConfigOptions,
} from '../../src/index.js';
import {
  FAKE_JWT_KEY,
  FAKE_METRICS_PASSWORD,
  READY_ENV,
  fakeHexKey,
  load,
  problemsOf,
  tempDir,
} from './helpers.js';

describe('loadConfig defaults', () => {
  it('returns the documented defaults, grouped and camelCased', () => {
    const config = load({});
    expect(config).toEqual({
      environment: 'development',
      production: false,
      jwt: {
        secretKey: undefined,
        previousSecretKeys: [],
        accessTokenExpireMinutes: 15,
        refreshTokenExpireDays: 14,
        issuer: 'bulwark',
        audience: 'bulwark',
      },
      rateLimit: {
        requestsPerMinute: 100,
        windowSeconds: 60,
        storageUri: undefined,
        clusterNodes: [],
        inMemoryFallbackEnabled: false,
      },
      cors: { allowedOrigins: [] },
      trustedHosts: [],
      httpsRedirectEnabled: false,
      encryption: { key: undefined, previousKeys: [] },
      logLevel: 'info',
      maxBodyBytes: 102_400,
      requestTimeoutMs: 30_000,
      metrics: { username: undefined, password: undefined, allowIps: [] },
      circuitBreaker: { cacheUrl: undefined },
      llm: { outputAuditRate: 0 },
      database: { url: undefined },
      warnings: [],
    } satisfies BulwarkConfig);
  });

  it.each([
    [{}, undefined],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/0' }, 'redis://127.0.0.1:6379/0'],
    [
      { REDIS_URL: 'redis://127.0.0.1:6379/0', CIRCUIT_BREAKER_CACHE_URL: 'redis://cache:6379/2' },
      'redis://cache:6379/2',
    ],
  ])('reads the circuit-breaker cache URL from %j, defaulting to the Redis URL', (env, url) => {
    expect(load(env).circuitBreaker.cacheUrl).toBe(url);
  });

  it.each([
    ['0', 0],
    ['0.05', 0.05],
    ['.5', 0.5],
    ['1', 1],
  ])('reads LLM_OUTPUT_AUDIT_RATE=%s', (raw, rate) => {
    expect(load({ LLM_OUTPUT_AUDIT_RATE: raw }).llm.outputAuditRate).toBe(rate);
  });

  it.each(['1.5', '-0.1', 'half', '5%', 'NaN', '1e-2'])(
    'refuses LLM_OUTPUT_AUDIT_RATE=%s',
    (raw) => {
      expect(() => load({ LLM_OUTPUT_AUDIT_RATE: raw })).toThrow(
        /LLM_OUTPUT_AUDIT_RATE must be a number from 0 to 1/,
      );
    },
  );

  it('refuses a CIRCUIT_BREAKER_CACHE_URL that is not a Redis URL, without echoing it', () => {
    expect(() => load({ CIRCUIT_BREAKER_CACHE_URL: 'http://user:pw@cache' })).toThrow(
      /CIRCUIT_BREAKER_CACHE_URL must be a redis:\/\/ or rediss:\/\/ URL$/,
    );
  });

  it('turns HTTPS redirects on by default in production', () => {
    expect(load(READY_ENV).httpsRedirectEnabled).toBe(true);
  });

  it('is frozen all the way down', () => {
    const config = load({ TRUSTED_HOSTS: 'api.example.com', JWT_PREVIOUS_SECRET_KEYS: 'a,b' });
    for (const part of [
      config,
      config.jwt,
      config.jwt.previousSecretKeys,
      config.rateLimit,
      config.cors,
      config.cors.allowedOrigins,
      config.trustedHosts,
      config.encryption,
      config.metrics,
      config.circuitBreaker,
      config.llm,
      config.warnings,
    ]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
  });

  it('reads process.env when given no env', () => {
    const previous = process.env.JWT_AUDIENCE;
    process.env.JWT_AUDIENCE = 'from-process-env';
    try {
      expect(loadConfig({ secretsDir: false }).jwt.audience).toBe('from-process-env');
    } finally {
      if (previous === undefined) delete process.env.JWT_AUDIENCE;
      else process.env.JWT_AUDIENCE = previous;
    }
  });
});

type Layer = 'option' | 'env' | 'alias' | 'file' | 'secrets';

interface PrecedenceCase {
  name: ConfigVariable;
  alias?: string;
  values: Record<Layer, string>;
  pick: (config: BulwarkConfig) => unknown;
  parsed: (value: string) => unknown;
  fallback: unknown;
}

const PRECEDENCE: PrecedenceCase[] = [
  {
    name: 'JWT_SECRET_KEY',
    alias: 'SECRET_KEY',
    values: {
      option: 'FAKE-option-key',
      env: 'FAKE-env-key',
      alias: 'FAKE-alias-key',
      file: 'FAKE-file-key',
      secrets: 'FAKE-secrets-key',
    },
    pick: (c) => c.jwt.secretKey,
    parsed: (v) => v,
    fallback: undefined,
  },
  {
    name: 'RATE_LIMIT_STORAGE_URI',
    alias: 'REDIS_URL',
    values: {
      option: 'redis://option.test:6379',
      env: 'redis://env.test:6379',
      alias: 'redis://alias.test:6379',
      file: 'rediss://file.test:6380',
      secrets: 'redis://secrets.test:6379',
    },
    pick: (c) => c.rateLimit.storageUri,
    parsed: (v) => v,
    fallback: undefined,
  },
  {
    name: 'REDIS_CLUSTER_NODES',
    values: {
      option: 'redis://option-a.test:7000,redis://option-b.test:7001',
      env: 'redis://env.test:7000',
      alias: 'redis://unused.test:7000',
      file: 'rediss://file-a.test:7000, rediss://file-b.test:7001',
      secrets: 'redis://secrets.test:7000',
    },
    pick: (c) => c.rateLimit.clusterNodes,
    parsed: (v) => v.split(',').map((node) => node.trim()),
    fallback: [],
  },
  {
    name: 'DATABASE_URL',
    values: {
      option: 'postgres://option.test/app',
      env: 'postgresql://env.test:5433/app',
      alias: 'unused',
      file: 'postgres://file.test/app?sslmode=require',
      secrets: 'postgres://secrets.test/app',
    },
    pick: (c) => c.database.url,
    parsed: (v) => v,
    fallback: undefined,
  },
  {
    name: 'CORS_ALLOWED_ORIGINS',
    alias: 'CORS_ALLOW_ORIGINS',
    values: {
      option: 'https://option.example.com',
      env: 'https://env.example.com',
      alias: 'https://alias.example.com',
      file: 'https://file.example.com',
      secrets: 'https://secrets.example.com',
    },
    pick: (c) => c.cors.allowedOrigins,
    parsed: (v) => [v],
    fallback: [],
  },
  {
    name: 'ENVIRONMENT',
    alias: 'NODE_ENV',
    values: { option: 'staging', env: 'test', alias: 'ci', file: 'local', secrets: 'dev' },
    pick: (c) => c.environment,
    parsed: (v) => v,
    fallback: 'development',
  },
  {
    name: 'RATE_LIMIT_REQUESTS_PER_MINUTE',
    values: { option: '11', env: '22', alias: '', file: '44', secrets: '55' },
    pick: (c) => c.rateLimit.requestsPerMinute,
    parsed: Number,
    fallback: 100,
  },
];

describe.each(PRECEDENCE)(
  'precedence of $name',
  ({ name, alias, values, pick, parsed, fallback }) => {
    const layers: Layer[] = ['option', 'env', 'alias', 'file', 'secrets'];
    const present = layers.filter((layer) => layer !== 'alias' || alias !== undefined);

    function options(from: readonly Layer[]): LoadConfigOptions {
      const files = tempDir({ value: `${values.file}\n` });
      const secrets = tempDir(from.includes('secrets') ? { [name]: `${values.secrets}\n` } : {});
      const env: NodeJS.ProcessEnv = {};
      if (from.includes('env')) env[name] = values.env;
      if (from.includes('alias') && alias !== undefined) env[alias] = values.alias;
      if (from.includes('file')) env[`${name}_FILE`] = join(files, 'value');
      return {
        env,
        secretsDir: secrets,
        cwd: tempDir(),
        values: from.includes('option') ? { [name]: values.option } : {},
      };
    }

    it.each(present.map((layer, index) => [layer, present.slice(index)] as const))(
      '%s wins over every lower source',
      (layer, from) => {
        expect(pick(loadConfig(options(from)))).toEqual(parsed(values[layer]));
      },
    );

    it('falls back to the default when no source has it', () => {
      expect(pick(loadConfig(options([])))).toEqual(fallback);
    });
  },
);

describe('sources', () => {
  it('lists every alias the design names', () => {
    const aliases = Object.fromEntries(
      Object.entries(CONFIG_VARIABLES)
        .filter(([, spec]) => spec.aliases.length > 0)
        .map(([name, spec]) => [name, spec.aliases]),
    );
    expect(aliases).toEqual({
      ENVIRONMENT: ['NODE_ENV'],
      JWT_SECRET_KEY: ['SECRET_KEY'],
      RATE_LIMIT_STORAGE_URI: ['REDIS_URL'],
      CORS_ALLOWED_ORIGINS: ['CORS_ALLOW_ORIGINS'],
    });
  });

  it('reads an alias through its own _FILE', () => {
    const dir = tempDir({ key: FAKE_JWT_KEY });
    expect(load({ SECRET_KEY_FILE: join(dir, 'key') }).jwt.secretKey).toBe(FAKE_JWT_KEY);
  });

  it('reads an alias from the secrets folder', () => {
    const secrets = tempDir({ REDIS_URL: 'redis://secrets.test:6379' });
    expect(load({}, { secretsDir: secrets }).rateLimit.storageUri).toBe(
      'redis://secrets.test:6379',
    );
  });

  it('finds the secrets folder through SETTINGS_SECRETS_DIR', () => {
    const secrets = tempDir({ JWT_SECRET_KEY: FAKE_JWT_KEY });
    const config = loadConfig({ env: { SETTINGS_SECRETS_DIR: secrets }, cwd: tempDir() });
    expect(config.jwt.secretKey).toBe(FAKE_JWT_KEY);
  });

  it('lets the secretsDir option override SETTINGS_SECRETS_DIR, and false turn it off', () => {
    const fromEnv = tempDir({ JWT_ISSUER: 'from-env-dir' });
    const fromOption = tempDir({ JWT_ISSUER: 'from-option-dir' });
    const env = { SETTINGS_SECRETS_DIR: fromEnv };
    expect(loadConfig({ env, secretsDir: fromOption, cwd: tempDir() }).jwt.issuer).toBe(
      'from-option-dir',
    );
    expect(loadConfig({ env, secretsDir: false, cwd: tempDir() }).jwt.issuer).toBe('bulwark');
  });

  it.each([
    ['a newline', 'FAKE-test-value\n', 'FAKE-test-value'],
    ['a CRLF', 'FAKE-test-value\r\n', 'FAKE-test-value'],
    ['nothing', 'FAKE-test-value', 'FAKE-test-value'],
    ['two newlines (only one is stripped)', 'FAKE-test-value\n\n', 'FAKE-test-value\n'],
  ])('strips a trailing %s from secret files', (_label, content, expected) => {
    const dir = tempDir({ key: content });
    expect(load({ JWT_SECRET_KEY_FILE: join(dir, 'key') }).jwt.secretKey).toBe(expected);
    expect(load({}, { secretsDir: tempDir({ JWT_SECRET_KEY: content }) }).jwt.secretKey).toBe(
      expected,
    );
  });

  it('treats undefined values as unset', () => {
    expect(load({ JWT_ISSUER: 'from-env' }, { values: { JWT_ISSUER: undefined } }).jwt.issuer).toBe(
      'from-env',
    );
  });

  it('treats empty strings as unset in every source', () => {
    const dir = tempDir({ empty: '' });
    const config = load(
      { JWT_ISSUER: '', JWT_AUDIENCE_FILE: join(dir, 'empty') },
      { values: { JWT_ACCESS_TOKEN_EXPIRE_MINUTES: '' } },
    );
    expect(config.jwt).toMatchObject({
      issuer: 'bulwark',
      audience: 'bulwark',
      accessTokenExpireMinutes: 15,
    });
  });

  it('reports every unreadable secrets file together, with malformed values', () => {
    const dir = tempDir({ 'folder/': '' });
    const secrets = tempDir({ 'METRICS_PASSWORD/': '' });
    const problems = problemsOf(() =>
      load(
        {
          JWT_SECRET_KEY_FILE: join(dir, 'missing'),
          ENCRYPTION_KEY_FILE: join(dir, 'folder'),
          MAX_BODY_BYTES: '1mb',
        },
        { secretsDir: secrets },
      ),
    );
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^JWT_SECRET_KEY_FILE: cannot read .*missing \(ENOENT\)$/);
    expect(problems[1]).toMatch(/^ENCRYPTION_KEY_FILE: cannot read .*folder \(EISDIR\)$/);
    expect(problems[2]).toMatch(
      /^MAX_BODY_BYTES must be a whole number from 1 to 1073741824, got "1mb"$/,
    );
    expect(problems[3]).toMatch(/^METRICS_PASSWORD: cannot read .*METRICS_PASSWORD \(EISDIR\)$/);
  });

  it('refuses an oversized secrets file', () => {
    const dir = tempDir({ big: 'x'.repeat(70_000) });
    const problems = problemsOf(() => load({ JWT_SECRET_KEY_FILE: join(dir, 'big') }));
    expect(problems).toEqual([expect.stringMatching(/^JWT_SECRET_KEY_FILE: .* is larger than/)]);
  });
});

describe('parsing', () => {
  it('splits, trims and normalises lists', () => {
    const config = load({
      CORS_ALLOWED_ORIGINS:
        ' https://App.Example.com , ,https://*.example.com,https://x.example.com:443,http://localhost:3000',
      TRUSTED_HOSTS: 'API.example.com, *.example.com ,api.example.com:8443,[::1]:3000,127.0.0.1',
      METRICS_ALLOW_IPS: '10.0.0.0/8, 192.168.1.7 ,::1,fd00::/8',
      JWT_PREVIOUS_SECRET_KEYS: 'FAKE-old-1 , FAKE-old-2',
      ENCRYPTION_PREVIOUS_KEYS: fakeHexKey('old').toUpperCase(),
    });
    expect(config.cors.allowedOrigins).toEqual([
      'https://app.example.com',
      'https://*.example.com',
      'https://x.example.com',
      'http://localhost:3000',
    ]);
    expect(config.trustedHosts).toEqual([
      'api.example.com',
      '*.example.com',
      'api.example.com:8443',
      '[::1]:3000',
      '127.0.0.1',
    ]);
    expect(config.metrics.allowIps).toEqual(['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8']);
    expect(config.jwt.previousSecretKeys).toEqual(['FAKE-old-1', 'FAKE-old-2']);
    expect(config.encryption.previousKeys).toEqual([fakeHexKey('old')]);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['on', true],
    ['false', false],
    ['0', false],
    ['No', false],
    ['off', false],
  ])('reads the boolean %s', (value, expected) => {
    expect(
      load({ RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED: value }).rateLimit.inMemoryFallbackEnabled,
    ).toBe(expected);
  });

  it('reads numbers, levels and the environment case-insensitively and trimmed', () => {
    const config = load({
      ...READY_ENV,
      ENVIRONMENT: ' PROD ',
      LOG_LEVEL: 'WARN',
      MAX_BODY_BYTES: ' 2048 ',
      REQUEST_TIMEOUT_MS: '2147483647',
    });
    expect(config).toMatchObject({
      environment: 'prod',
      production: true,
      logLevel: 'warn',
      maxBodyBytes: 2048,
      requestTimeoutMs: 2_147_483_647,
    });
  });

  it('warns about an environment name it does not know', () => {
    expect(load({ ENVIRONMENT: 'prodution' }).warnings).toEqual([
      'ENVIRONMENT "prodution" is not a known name; production checks are off (use "production" to turn them on)',
    ]);
  });
});

interface MalformedCase {
  name: ConfigVariable;
  value: string;
  message: string;
}

const MALFORMED: MalformedCase[] = [
  ...['abc', '-5', '0', '1.5', '1e3', '+3', '0x10'].map((value) => ({
    name: 'RATE_LIMIT_REQUESTS_PER_MINUTE' as const,
    value,
    message: `RATE_LIMIT_REQUESTS_PER_MINUTE must be a whole number from 1 to 1000000000, got ${JSON.stringify(value)}`,
  })),
  {
    name: 'RATE_LIMIT_WINDOW_SECONDS',
    value: '0',
    message: 'RATE_LIMIT_WINDOW_SECONDS must be a whole number from 1 to 2147483, got "0"',
  },
  {
    name: 'RATE_LIMIT_WINDOW_SECONDS',
    value: '99999999',
    message: 'RATE_LIMIT_WINDOW_SECONDS must be a whole number from 1 to 2147483, got "99999999"',
  },
  {
    name: 'JWT_ACCESS_TOKEN_EXPIRE_MINUTES',
    value: '-1',
    message: 'JWT_ACCESS_TOKEN_EXPIRE_MINUTES must be a whole number from 1 to 1440, got "-1"',
  },
  {
    name: 'JWT_REFRESH_TOKEN_EXPIRE_DAYS',
    value: '14d',
    message: 'JWT_REFRESH_TOKEN_EXPIRE_DAYS must be a whole number from 1 to 365, got "14d"',
  },
  {
    name: 'MAX_BODY_BYTES',
    value: '1mb',
    message: 'MAX_BODY_BYTES must be a whole number from 1 to 1073741824, got "1mb"',
  },
  {
    name: 'MAX_BODY_BYTES',
    value: '0',
    message: 'MAX_BODY_BYTES must be a whole number from 1 to 1073741824, got "0"',
  },
  {
    name: 'REQUEST_TIMEOUT_MS',
    value: '2147483648',
    message: 'REQUEST_TIMEOUT_MS must be a whole number from 1 to 2147483647, got "2147483648"',
  },
  {
    name: 'REQUEST_TIMEOUT_MS',
    value: '30s',
    message: 'REQUEST_TIMEOUT_MS must be a whole number from 1 to 2147483647, got "30s"',
  },
  {
    name: 'RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED',
    value: 'maybe',
    message:
      'RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED must be true or false (or 1/0, yes/no, on/off), got "maybe"',
  },
  {
    name: 'HTTPS_REDIRECT_ENABLED',
    value: 'tru',
    message: 'HTTPS_REDIRECT_ENABLED must be true or false (or 1/0, yes/no, on/off), got "tru"',
  },
  ...[
    'app.example.com',
    'https://app.example.com/path',
    'null',
    'ftp://files.example.com',
    'https://user:pw@app.example.com',
    'https://app.*.example.com',
    'https://app.example.com?x=1',
  ].map((value) => ({
    name: 'CORS_ALLOWED_ORIGINS' as const,
    value,
    message: `CORS_ALLOWED_ORIGINS has malformed entries (${JSON.stringify(value)}): expected origins like https://app.example.com or https://*.example.com (no path)`,
  })),
  ...['http://api.example.com', 'api.example.com/path', 'bad host', 'api.example.com:99999'].map(
    (value) => ({
      name: 'TRUSTED_HOSTS' as const,
      value,
      message: `TRUSTED_HOSTS has malformed entries (${JSON.stringify(value)}): expected host names like api.example.com, *.example.com, api.example.com:8443 or api.example.com:* (not *: leave TRUSTED_HOSTS unset to skip the check outside production)`,
    }),
  ),
  ...['z'.repeat(64), 'ab'.repeat(31), 'ab'.repeat(33), 'FAKE-not-hex'].map((value) => ({
    name: 'ENCRYPTION_KEY' as const,
    value,
    message: 'ENCRYPTION_KEY must be 64 hexadecimal characters (32 bytes)',
  })),
  {
    name: 'ENCRYPTION_PREVIOUS_KEYS',
    value: `${fakeHexKey('a')},FAKE-short`,
    message:
      'ENCRYPTION_PREVIOUS_KEYS has malformed entries (entry 2): expected 64 hexadecimal characters (32 bytes)',
  },
  {
    name: 'LOG_LEVEL',
    value: 'verbose',
    message:
      'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "verbose"',
  },
  ...['10.0.0.0/33', 'not-an-ip', '::1/129', '10.0.0.1/8/8', '10.0.0.0/x'].map((value) => ({
    name: 'METRICS_ALLOW_IPS' as const,
    value,
    message: `METRICS_ALLOW_IPS has malformed entries (${JSON.stringify(value)}): expected IP addresses or CIDR ranges like 10.0.0.0/8 (not /0, which allows every address)`,
  })),
  ...['mysql://db.example.com/app', 'redis://127.0.0.1:6379', 'not a url', 'db:5432'].map(
    (value) => ({
      name: 'DATABASE_URL' as const,
      value,
      message: 'DATABASE_URL must be a postgres:// or postgresql:// URL',
    }),
  ),
  ...['http://cache.example.com', 'not a url', 'localhost:6379'].map((value) => ({
    name: 'RATE_LIMIT_STORAGE_URI' as const,
    value,
    message: 'RATE_LIMIT_STORAGE_URI must be a redis:// or rediss:// URL',
  })),
  ...[
    [
      'http://fake-user:fake-pass@cache.example.com:7000',
      'entry 1 must be a redis:// or rediss:// URL',
    ],
    [
      'redis://a.test:7000,redis://fake-user:fake-pass@b.test:7001',
      'entry 2 differs from the first node in scheme or credentials: every node of a cluster is reached the same way',
    ],
    ['redis://a.test:7000/3', 'entry 1 names a database: Redis Cluster has only database 0'],
    [' , ', 'must list redis:// or rediss:// URLs'],
  ].map(([value = '', problem = '']) => ({
    name: 'REDIS_CLUSTER_NODES' as const,
    value,
    message: `REDIS_CLUSTER_NODES: ${problem}`,
  })),
  {
    name: 'METRICS_PASSWORD',
    value: FAKE_METRICS_PASSWORD,
    message: 'METRICS_USERNAME and METRICS_PASSWORD must be set together',
  },
  {
    name: 'JWT_ISSUER',
    value: 'i'.repeat(257),
    message: 'JWT_ISSUER must be at most 256 characters',
  },
];

describe.each([
  ['development', {}],
  ['production', READY_ENV],
])('malformed values in %s', (_label, base) => {
  it.each(MALFORMED)('$name=$value is refused', ({ name, value, message }) => {
    const problems = problemsOf(() => load({ ...base, [name]: value }));
    expect(problems).toEqual([message]);
  });

  it('names an alias when the alias supplied the bad value', () => {
    const env: NodeJS.ProcessEnv = { ...base, CORS_ALLOW_ORIGINS: 'null' };
    delete env.CORS_ALLOWED_ORIGINS;
    expect(problemsOf(() => load(env))).toEqual([
      'CORS_ALLOW_ORIGINS (for CORS_ALLOWED_ORIGINS) has malformed entries ("null"): expected origins like https://app.example.com or https://*.example.com (no path)',
    ]);
  });

  it('collects every malformed value in one error', () => {
    const error = (() => {
      try {
        load({
          ...base,
          RATE_LIMIT_REQUESTS_PER_MINUTE: 'abc',
          MAX_BODY_BYTES: '1mb',
          ENCRYPTION_KEY: 'FAKE',
          LOG_LEVEL: 'loud',
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(BulwarkConfigError);
    expect((error as BulwarkConfigError).problems).toEqual([
      'RATE_LIMIT_REQUESTS_PER_MINUTE must be a whole number from 1 to 1000000000, got "abc"',
      'ENCRYPTION_KEY must be 64 hexadecimal characters (32 bytes)',
      'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "loud"',
      'MAX_BODY_BYTES must be a whole number from 1 to 1073741824, got "1mb"',
    ]);
  });
});

describe('secrets never appear in messages', () => {
  const SECRET = 'FAKEtestSECRETvalue9f8e7d';

  it.each([
    ['JWT_SECRET_KEY', SECRET, 'production'],
    ['JWT_PREVIOUS_SECRET_KEYS', `${FAKE_JWT_KEY}-previous,${SECRET}`, 'production'],
    ['METRICS_PASSWORD', SECRET, 'development'],
    ['METRICS_USERNAME', SECRET, 'development'],
    ['ENCRYPTION_KEY', SECRET, 'development'],
    ['ENCRYPTION_PREVIOUS_KEYS', SECRET, 'development'],
    ['RATE_LIMIT_STORAGE_URI', `http://user:${SECRET}@cache.example.com`, 'development'],
    ['REDIS_URL', `http://user:${SECRET}@cache.example.com`, 'development'],
    ['DATABASE_URL', `mysql://user:${SECRET}@db.example.com/app`, 'development'],
  ])('a refused %s is not echoed', (name, value, environment) => {
    let message = '';
    try {
      const env = { ...READY_ENV, ENVIRONMENT: environment, [name]: value };
      // The alias only counts when the main name is unset.
      if (name === 'REDIS_URL') delete env.RATE_LIMIT_STORAGE_URI;
      load(env);
    } catch (error) {
      message = String(error) + inspect(error);
    }
    expect(message).toContain(name);
    expect(message).not.toContain(SECRET);
  });

  it('redacts secrets when the config is logged or serialised', () => {
    const config = load({
      ...READY_ENV,
      JWT_PREVIOUS_SECRET_KEYS: `${SECRET}-previous-0123456789abcdef`,
      RATE_LIMIT_STORAGE_URI: `rediss://user:${SECRET}@cache.example.com:6380`,
      DATABASE_URL: `postgres://app:${SECRET}@db.example.com/app`,
      METRICS_USERNAME: `${SECRET}-user`,
      METRICS_PASSWORD: `${SECRET}-password-0123456789abcdef`,
      ENCRYPTION_PREVIOUS_KEYS: fakeHexKey('old'),
    });
    const shown = [inspect(config, { depth: 10 }), JSON.stringify(config)];
    for (const text of [...shown, inspect(config.jwt), JSON.stringify(config.metrics)]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(FAKE_JWT_KEY);
      expect(text).not.toContain(fakeHexKey('current'));
      expect(text).not.toContain(fakeHexKey('old'));
      expect(text).toContain('[REDACTED]');
    }
    for (const text of shown) expect(text).toContain('api.example.com');
    expect(config.jwt.secretKey).toBe(FAKE_JWT_KEY);
    expect(JSON.parse(JSON.stringify(config)).jwt.previousSecretKeys).toEqual(['[REDACTED]']);
  });
});

describe('loadConfig options', () => {
  it.each([
    ['an unknown option', { valuse: {} }, 'unknown option `valuse`. Did you mean `values`?'],
    [
      'an unknown variable',
      { values: { JWT_SECRET: 'x' } },
      '`values`: unknown variable `JWT_SECRET`. Did you mean `JWT_SECRET_KEY`?',
    ],
    [
      'a misspelt variable',
      { values: { jwt_secret_key: 'x' } },
      '`values`: unknown variable `jwt_secret_key`. Did you mean `JWT_SECRET_KEY`?',
    ],
    [
      'a variable with no near name',
      { values: { NOPE: 'x' } },
      '`values`: unknown variable `NOPE`.',
    ],
    [
      'a non-string value',
      { values: { MAX_BODY_BYTES: 1024 } },
      '`values`: `MAX_BODY_BYTES` must be a string, got number',
    ],
    [
      'values not an object',
      { values: 'x' },
      '`values` must be an object of variable names to strings',
    ],
    ['env not an object', { env: null }, '`env` must be an object like process.env'],
    ['secretsDir a number', { secretsDir: 5 }, '`secretsDir` must be a folder path or false'],
    ['secretsDir true', { secretsDir: true }, '`secretsDir` must be a folder path or false'],
    ['an empty cwd', { cwd: '' }, '`cwd` must not be empty'],
    ['options not an object', 'production', 'options must be an object, got a string'],
  ])('refuses %s', (_label, options, message) => {
    expect(problemsOf(() => loadConfig(options as LoadConfigOptions))).toEqual([message]);
  });
});

describe('.env permissions', () => {
  it.each([
    [0o644, 'warns', ['.env is accessible to group or others (mode 644): run chmod 600 .env']],
    [0o640, 'warns', ['.env is accessible to group or others (mode 640): run chmod 600 .env']],
    [0o604, 'warns', ['.env is accessible to group or others (mode 604): run chmod 600 .env']],
    [0o600, 'is quiet', []],
    [0o400, 'is quiet', []],
  ])('mode %o %s, in every environment', (mode, _verb, warnings) => {
    const cwd = tempDir();
    writeFileSync(join(cwd, '.env'), 'JWT_SECRET_KEY=FAKE\n');
    chmodSync(join(cwd, '.env'), mode);
    expect(load({}, { cwd }).warnings).toEqual(warnings);
    expect(load(READY_ENV, { cwd }).warnings).toEqual(warnings);
  });
});
