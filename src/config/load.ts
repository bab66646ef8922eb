import { inspect } from 'node:util';
import { BulwarkConfigError } from '../errors.js';
import { isProduction } from '../internal/env.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { isPostgresUrl } from '../stores/postgres-client.js';
import { ACCESS_TTL_SECONDS, REFRESH_TTL_SECONDS } from '../auth/tokens/options.js';
import {
  ANY_ORIGIN_ALONE,
  mixesAnyOrigin,
  parseOrigin,
  type OriginEntry,
} from '../headers/cors-policy.js';
import { hostRuleText, parseHostRule } from '../headers/trusted-hosts.js';
import { parseAddressRule } from '../monitoring/protect-metrics.js';
import { MAX_BODY_BYTES } from '../request/body-limits.js';
import { MAX_TIMER_MS } from '../internal/timers.js';
import { LOG_THRESHOLDS } from '../redaction/logger.js';
import { evaluateReadiness, type InternalCheck } from './readiness.js';
import { readSetting, secretsDirectory, type SourceContext } from './sources.js';
import { clusterNodeProblems } from '../stores/redis-client.js';
import type { BulwarkConfig, ConfigValues, LoadConfigOptions } from './types.js';
import {
  CONFIG_DEFAULTS,
  CONFIG_VARIABLES,
  CONFIG_VARIABLE_NAMES,
  type ConfigVariable,
  type ConfigLogLevel,
} from './variables.js';

// rateLimit()'s own bounds (src/rate-limit/rate-limit.ts); the table test in
// test/config/formats.test.ts fails if the two drift apart.
const MAX_REQUESTS_PER_WINDOW = 1_000_000_000;
const MINUTE = 60;
const DAY = 86_400;
const MAX_TEXT_LENGTH = 256;
const KNOWN_ENVIRONMENTS = new Set([
  'development',
  'dev',
  'local',
  'test',
  'testing',
  'ci',
  'staging',
  'production',
  'prod',
]);
// Warnings that matter whatever the environment; the others only in production.
const ALWAYS_WARN = new Set(['jwt.access_ttl', 'dotenv.permissions']);

interface Raw {
  value: string;
  /** How messages name the setting: the variable, alias or `_FILE` that supplied it. */
  label: string;
}

function quote(value: string): string {
  const shown = value.length > 64 ? `${value.slice(0, 64)}…` : value;
  return JSON.stringify(shown);
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** An origin as `corsPolicy()` reads it, or `undefined` when it would refuse it. */
function normaliseOrigin(entry: string): string | undefined {
  const parsed = parseOrigin(entry);
  return 'origin' in parsed ? parsed.origin : undefined;
}

/** A host as `trustedHosts()` reads it, or `undefined` when it would refuse it. */
function normaliseHost(entry: string): string | undefined {
  const rule = parseHostRule(entry);
  return 'problem' in rule ? undefined : hostRuleText(rule);
}

/** An address or range as `protectMetrics()` reads it, or `undefined` when it would refuse it. */
function normaliseAddress(entry: string): string | undefined {
  return 'problem' in parseAddressRule(entry) ? undefined : entry;
}

/** Reads every setting through its sources and collects what is malformed. */
class SettingReader {
  readonly problems: string[] = [];
  readonly invalid = new Set<ConfigVariable>();
  readonly #context: SourceContext;
  readonly #values: ConfigValues;

  constructor(context: SourceContext, values: ConfigValues) {
    this.#context = context;
    this.#values = values;
  }

  #fail(name: ConfigVariable, message: string): void {
    this.invalid.add(name);
    this.problems.push(message);
  }

  #got(name: ConfigVariable, value: string): string {
    return CONFIG_VARIABLES[name].secret ? '' : `, got ${quote(value)}`;
  }

  raw(name: ConfigVariable): Raw | undefined {
    const option = this.#values[name];
    let setting;
    try {
      setting = readSetting(
        name,
        CONFIG_VARIABLES[name].aliases,
        this.#context,
        option === '' ? undefined : option,
      );
    } catch (error) {
      if (!(error instanceof BulwarkConfigError)) throw error;
      for (const problem of error.problems) this.#fail(name, problem);
      return undefined;
    }
    if (setting.value === undefined || setting.value === '') return undefined;
    const label = setting.variable === name ? name : `${setting.variable} (for ${name})`;
    return { value: setting.value, label };
  }

  text(name: ConfigVariable, fallback: string): string;
  text(name: ConfigVariable, fallback: undefined): string | undefined;
  text(name: ConfigVariable, fallback: string | undefined): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (raw.value.length > MAX_TEXT_LENGTH && !CONFIG_VARIABLES[name].secret) {
      this.#fail(name, `${raw.label} must be at most ${String(MAX_TEXT_LENGTH)} characters`);
      return fallback;
    }
    return raw.value;
  }

  integer(name: ConfigVariable, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const text = raw.value.trim();
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < 1 || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? '>= 1' : `from 1 to ${String(max)}`;
      this.#fail(name, `${raw.label} must be a whole number ${range}${this.#got(name, raw.value)}`);
      return fallback;
    }
    return value;
  }

  boolean(name: ConfigVariable, fallback: boolean): boolean {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const text = raw.value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(text)) return true;
    if (['false', '0', 'no', 'off'].includes(text)) return false;
    this.#fail(
      name,
      `${raw.label} must be true or false (or 1/0, yes/no, on/off)${this.#got(name, raw.value)}`,
    );
    return fallback;
  }

  list(
    name: ConfigVariable,
    normalise: (entry: string) => string | undefined,
    expected: string,
  ): string[] {
    const raw = this.raw(name);
    if (raw === undefined) return [];
    const result: string[] = [];
    const bad: string[] = [];
    splitList(raw.value).forEach((entry, index) => {
      const value = normalise(entry);
      if (value === undefined) {
        bad.push(CONFIG_VARIABLES[name].secret ? `entry ${String(index + 1)}` : quote(entry));
      } else {
        result.push(value);
      }
    });
    if (bad.length > 0) {
      this.#fail(
        name,
        `${raw.label} has malformed entries (${bad.join(', ')}): expected ${expected}`,
      );
    }
    return result;
  }

  oneOf<const V extends string>(name: ConfigVariable, values: readonly V[], fallback: V): V {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const text = raw.value.trim().toLowerCase();
    const found = values.find((v) => v === text);
    if (found === undefined) {
      this.#fail(
        name,
        `${raw.label} must be one of ${values.join(', ')}${this.#got(name, raw.value)}`,
      );
      return fallback;
    }
    return found;
  }

  /** A decimal from 0 to 1, e.g. a sampling rate. */
  fraction(name: ConfigVariable, fallback: number): number {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const text = raw.value.trim();
    const value = /^(0(\.\d{1,9})?|1(\.0{1,9})?|\.\d{1,9})$/.test(text) ? Number(text) : Number.NaN;
    if (!(value >= 0 && value <= 1)) {
      this.#fail(name, `${raw.label} must be a number from 0 to 1${this.#got(name, raw.value)}`);
      return fallback;
    }
    return value;
  }

  storageUri(name: ConfigVariable): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    let url: URL | undefined;
    try {
      url = new URL(raw.value.trim());
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'redis:' && url?.protocol !== 'rediss:') {
      this.#fail(name, `${raw.label} must be a redis:// or rediss:// URL`);
      return undefined;
    }
    return raw.value.trim();
  }

  /** Comma-separated cluster node URLs, checked as `createRedisClient({ cluster })` checks them. */
  clusterNodes(name: ConfigVariable): string[] {
    const raw = this.raw(name);
    if (raw === undefined) return [];
    const nodes = splitList(raw.value);
    const problems = clusterNodeProblems(nodes).map((p) =>
      p
        .replace(/^`cluster` must be a non-empty array of/, 'must list')
        .replace(/^cluster\[(\d+)\]/, (_m, i: string) => `entry ${String(Number(i) + 1)}`),
    );
    if (problems.length === 0) return nodes;
    this.#fail(name, `${raw.label}: ${problems.join('; ')}`);
    return [];
  }

  databaseUrl(name: ConfigVariable): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    const value = raw.value.trim();
    if (!isPostgresUrl(value)) {
      this.#fail(name, `${raw.label} must be a postgres:// or postgresql:// URL`);
      return undefined;
    }
    return value;
  }

  problem(name: ConfigVariable, message: string): void {
    this.#fail(name, message);
  }
}

const HEX_KEY = (entry: string): string | undefined =>
  /^[0-9a-f]{64}$/i.test(entry) ? entry.toLowerCase() : undefined;
const HEX_KEY_EXPECTED = '64 hexadecimal characters (32 bytes)';
const ANY_ENTRY = (entry: string): string => entry;

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * Freezes a config group and makes `JSON.stringify` and `util.inspect` show its
 * secrets as `[REDACTED]`, so logging the config cannot leak them.
 */
function protect<T extends object>(group: T, secrets: readonly (keyof T & string)[]): T {
  const redacted = (): Record<string, unknown> => {
    const copy: Record<string, unknown> = { ...(group as Record<string, unknown>) };
    for (const key of secrets) {
      const value = copy[key];
      if (Array.isArray(value)) copy[key] = value.map(() => '[REDACTED]');
      else if (value !== undefined) copy[key] = '[REDACTED]';
    }
    return copy;
  };
  for (const value of Object.values(group)) {
    if (Array.isArray(value)) Object.freeze(value);
  }
  Object.defineProperty(group, 'toJSON', { value: redacted });
  Object.defineProperty(group, INSPECT, {
    value: (_depth: number, options: object) => inspect(redacted(), options),
  });
  return Object.freeze(group);
}

/** What `loadConfig()` found: the config (defaults where malformed), the problems and the checklist. */
export interface ConfigReport {
  readonly config: BulwarkConfig;
  /** Malformed or unreadable settings; errors in every environment. */
  readonly problems: readonly string[];
  /** The production checklist, leaving out checks of settings already in `problems`. */
  readonly checks: readonly InternalCheck[];
}

const KNOWN_OPTIONS: KnownKeys<LoadConfigOptions> = {
  values: true,
  env: true,
  secretsDir: true,
  cwd: true,
};

function variableHint(name: string): string {
  const upper = name.toUpperCase();
  // A missing suffix (JWT_SECRET), an extra one or the wrong case are the usual slips.
  const close = CONFIG_VARIABLE_NAMES.find(
    (known) => known === upper || known.startsWith(upper) || upper.startsWith(known),
  );
  return close === undefined ? '' : ` Did you mean \`${close}\`?`;
}

function checkOptions(options: LoadConfigOptions | undefined): {
  values: ConfigValues;
  env: NodeJS.ProcessEnv;
  secretsDir: string | undefined;
  cwd: string;
} {
  const check = new OptionChecker('loadConfig', options, KNOWN_OPTIONS);
  const values = check.raw('values');
  if (values !== undefined) {
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      check.problem('`values` must be an object of variable names to strings');
    } else {
      for (const [name, value] of Object.entries(values)) {
        if (!Object.hasOwn(CONFIG_VARIABLES, name)) {
          check.problem(`\`values\`: unknown variable \`${name}\`.${variableHint(name)}`);
        } else if (value !== undefined && typeof value !== 'string') {
          check.problem(`\`values\`: \`${name}\` must be a string, got ${typeof value}`);
        }
      }
    }
  }
  const env = check.raw('env');
  if (env !== undefined && (typeof env !== 'object' || env === null || Array.isArray(env))) {
    check.problem('`env` must be an object like process.env');
  }
  const secretsDir = check.raw('secretsDir');
  if (secretsDir !== undefined && secretsDir !== false && typeof secretsDir !== 'string') {
    check.problem('`secretsDir` must be a folder path or false');
  }
  const cwd = check.string('cwd', undefined, { nonEmpty: true });
  check.done();

  const environment = (env as NodeJS.ProcessEnv | undefined) ?? process.env;
  return {
    values: (values as ConfigValues | undefined) ?? {},
    env: environment,
    secretsDir:
      secretsDir === false
        ? undefined
        : typeof secretsDir === 'string'
          ? secretsDir
          : secretsDirectory(environment),
    cwd: cwd ?? process.cwd(),
  };
}

/**
 * Reads and checks every setting without throwing on what it finds; the
 * engine behind `loadConfig()` and `bulwark doctor`.
 */
export function inspectConfig(options?: LoadConfigOptions): ConfigReport {
  const { values, env, secretsDir, cwd } = checkOptions(options);
  const read = new SettingReader({ env, secretsDir }, values);

  const environment = read.text('ENVIRONMENT', CONFIG_DEFAULTS.environment).trim().toLowerCase();
  const production = isProduction(environment);

  const secretKey = read.text('JWT_SECRET_KEY', undefined);
  const previousSecretKeys = read.list(
    'JWT_PREVIOUS_SECRET_KEYS',
    ANY_ENTRY,
    'a comma-separated list',
  );
  // Bounded by what createTokenService() accepts, so the config never hands it a refused lifetime.
  const accessTokenExpireMinutes = read.integer(
    'JWT_ACCESS_TOKEN_EXPIRE_MINUTES',
    CONFIG_DEFAULTS.accessTokenExpireMinutes,
    Math.floor(ACCESS_TTL_SECONDS.max / MINUTE),
  );
  const refreshTokenExpireDays = read.integer(
    'JWT_REFRESH_TOKEN_EXPIRE_DAYS',
    CONFIG_DEFAULTS.refreshTokenExpireDays,
    Math.floor(REFRESH_TTL_SECONDS.max / DAY),
  );
  const issuer = read.text('JWT_ISSUER', CONFIG_DEFAULTS.issuer);
  const audience = read.text('JWT_AUDIENCE', CONFIG_DEFAULTS.audience);

  const requestsPerMinute = read.integer(
    'RATE_LIMIT_REQUESTS_PER_MINUTE',
    CONFIG_DEFAULTS.requestsPerMinute,
    MAX_REQUESTS_PER_WINDOW,
  );
  const windowSeconds = read.integer(
    'RATE_LIMIT_WINDOW_SECONDS',
    CONFIG_DEFAULTS.windowSeconds,
    Math.floor(MAX_TIMER_MS / 1000),
  );
  const storageUri = read.storageUri('RATE_LIMIT_STORAGE_URI');
  const clusterNodes = read.clusterNodes('REDIS_CLUSTER_NODES');
  const inMemoryFallbackEnabled = read.boolean('RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED', false);

  const allowedOrigins = read.list(
    'CORS_ALLOWED_ORIGINS',
    normaliseOrigin,
    'origins like https://app.example.com or https://*.example.com (no path)',
  );
  const parsedOrigins = allowedOrigins
    .map(parseOrigin)
    .filter((entry): entry is OriginEntry => !('problem' in entry));
  if (mixesAnyOrigin(parsedOrigins)) {
    read.problem('CORS_ALLOWED_ORIGINS', `CORS_ALLOWED_ORIGINS: ${ANY_ORIGIN_ALONE}`);
  }
  const trustedHosts = read.list(
    'TRUSTED_HOSTS',
    normaliseHost,
    'host names like api.example.com, *.example.com, api.example.com:8443 or api.example.com:* (not *: leave TRUSTED_HOSTS unset to skip the check outside production)',
  );
  const httpsRedirectEnabled = read.boolean('HTTPS_REDIRECT_ENABLED', production);

  const encryptionRaw = read.raw('ENCRYPTION_KEY');
  let encryptionKey: string | undefined;
  if (encryptionRaw !== undefined) {
    encryptionKey = HEX_KEY(encryptionRaw.value.trim());
    if (encryptionKey === undefined) {
      read.problem('ENCRYPTION_KEY', `${encryptionRaw.label} must be ${HEX_KEY_EXPECTED}`);
    }
  }
  const previousKeys = read.list('ENCRYPTION_PREVIOUS_KEYS', HEX_KEY, HEX_KEY_EXPECTED);

  const logLevel: ConfigLogLevel = read.oneOf(
    'LOG_LEVEL',
    LOG_THRESHOLDS,
    CONFIG_DEFAULTS.logLevel,
  );
  const maxBodyBytes = read.integer('MAX_BODY_BYTES', CONFIG_DEFAULTS.maxBodyBytes, MAX_BODY_BYTES);
  const requestTimeoutMs = read.integer(
    'REQUEST_TIMEOUT_MS',
    CONFIG_DEFAULTS.requestTimeoutMs,
    MAX_TIMER_MS,
  );

  const username = read.text('METRICS_USERNAME', undefined);
  const password = read.text('METRICS_PASSWORD', undefined);
  if ((username === undefined) !== (password === undefined)) {
    const missing = username === undefined ? 'METRICS_USERNAME' : 'METRICS_PASSWORD';
    read.problem(missing, 'METRICS_USERNAME and METRICS_PASSWORD must be set together');
  }
  const allowIps = read.list(
    'METRICS_ALLOW_IPS',
    normaliseAddress,
    'IP addresses or CIDR ranges like 10.0.0.0/8 (not /0, which allows every address)',
  );

  const cacheUrl = read.storageUri('CIRCUIT_BREAKER_CACHE_URL') ?? storageUri;
  const outputAuditRate = read.fraction('LLM_OUTPUT_AUDIT_RATE', 0);
  const databaseUrl = read.databaseUrl('DATABASE_URL');

  const draft: BulwarkConfig = {
    environment,
    production,
    jwt: {
      secretKey,
      previousSecretKeys,
      accessTokenExpireMinutes,
      refreshTokenExpireDays,
      issuer,
      audience,
    },
    rateLimit: {
      requestsPerMinute,
      windowSeconds,
      storageUri,
      clusterNodes,
      inMemoryFallbackEnabled,
    },
    cors: { allowedOrigins },
    trustedHosts,
    httpsRedirectEnabled,
    encryption: { key: encryptionKey, previousKeys },
    logLevel,
    maxBodyBytes,
    requestTimeoutMs,
    metrics: { username, password, allowIps },
    circuitBreaker: { cacheUrl },
    llm: { outputAuditRate },
    database: { url: databaseUrl },
    warnings: [],
  };

  const checks = evaluateReadiness(draft, cwd).filter((c) =>
    c.variables.every((name) => !read.invalid.has(name)),
  );
  const warnings = checks
    .filter((c) => c.status === 'warn' && (production || ALWAYS_WARN.has(c.id)))
    .map((c) => c.message);
  if (!KNOWN_ENVIRONMENTS.has(environment)) {
    warnings.unshift(
      `ENVIRONMENT ${quote(environment)} is not a known name; production checks are off (use "production" to turn them on)`,
    );
  }

  const config: BulwarkConfig = Object.freeze({
    ...draft,
    jwt: protect({ ...draft.jwt }, ['secretKey', 'previousSecretKeys']),
    rateLimit: protect({ ...draft.rateLimit }, ['storageUri', 'clusterNodes']),
    cors: protect({ ...draft.cors }, []),
    trustedHosts: Object.freeze(trustedHosts),
    encryption: protect({ ...draft.encryption }, ['key', 'previousKeys']),
    metrics: protect({ ...draft.metrics }, ['username', 'password']),
    circuitBreaker: protect({ ...draft.circuitBreaker }, ['cacheUrl']),
    llm: protect({ ...draft.llm }, []),
    database: protect({ ...draft.database }, ['url']),
    warnings: Object.freeze(warnings),
  });
  return { config, problems: read.problems, checks };
}

/**
 * Reads bulwark's settings from explicit values, the environment, `NAME_FILE`
 * files and a secrets folder (in that order), checks each one, and returns a
 * typed, frozen config. Malformed values throw in every environment; in
 * production every failed check of `productionReadiness()` is added, and all
 * of them come in one `BulwarkConfigError`. No message contains a secret.
 *
 * @param [options.values] explicit values, winning over every other source
 * @param [options.env=process.env] the environment to read
 * @param [options.secretsDir] secrets folder; `SETTINGS_SECRETS_DIR`, else `/run/secrets` if present; `false` for none
 * @param [options.cwd=process.cwd()] folder checked for a loosely permitted `.env`
 * @example
 * const config = loadConfig();
 * for (const warning of config.warnings) console.warn(warning);
 */
export function loadConfig(options?: LoadConfigOptions): BulwarkConfig {
  const { config, problems, checks } = inspectConfig(options);
  const all = [...problems];
  if (config.production) {
    all.push(...checks.filter((c) => c.status === 'fail').map((c) => c.message));
  }
  if (all.length > 0) throw new BulwarkConfigError('loadConfig', all);
  return config;
}
