import { statSync } from 'node:fs';
import { join } from 'node:path';
import { BulwarkConfigError } from '../errors.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import type {
  BulwarkConfig,
  ProductionReadinessOptions,
  ReadinessCheck,
  ReadinessCheckId,
  ReadinessStatus,
} from './types.js';
import { guessableSecret } from './secret-strength.js';
import type { ConfigVariable } from './variables.js';

/** The prefix the example server gives the secrets it generates for development. */
export const DEV_SECRET_PREFIX = 'dev-insecure-';

const MIN_SECRET_BYTES = 32;
const MAX_ACCESS_TTL_MINUTES = 60;

// Values copied from tutorials, `.env.example` files and framework scaffolds.
const PLACEHOLDERS = new Set([
  'changeme',
  'change-me',
  'change_me',
  'changeit',
  'change-it',
  'secret',
  'secrets',
  'password',
  'passw0rd',
  'sk-your-secret-key',
  'your-secret-key',
  'your_secret_key',
  'yoursecretkey',
  'your-secret-key-here',
  'secret-key',
  'secret_key',
  'secretkey',
  'jwt-secret',
  'jwt_secret',
  'mysecret',
  'my-secret',
  'supersecret',
  'super-secret',
  'default',
  'admin',
  'letmein',
  'placeholder',
  'replace-me',
  'todo',
]);
// Long placeholders ("your-super-secret-jwt-key-change-this-in-production") pass a
// length check, so look for the tell-tale words too.
const PLACEHOLDER_FRAGMENTS = [
  'changeme',
  'change-me',
  'change_me',
  'change-this',
  'change_this',
  'changethis',
  'replace-me',
  'replace_me',
  'replace-this',
  'your-secret',
  'your_secret',
  'your-256-bit-secret',
  'supersecret',
  'super-secret',
  'super_secret',
  'not-a-secret',
  'notasecret',
  'insecure',
  'placeholder',
];

/** Why a secret is unfit for production, or `undefined` when it looks fine. */
export function secretWeakness(value: string): string | undefined {
  const normalised = value
    .trim()
    .replace(/^["']|["']$/g, '')
    .toLowerCase();
  if (normalised.startsWith(DEV_SECRET_PREFIX)) {
    return `is a generated development secret (starts with "${DEV_SECRET_PREFIX}")`;
  }
  if (PLACEHOLDERS.has(normalised) || PLACEHOLDER_FRAGMENTS.some((f) => normalised.includes(f))) {
    return 'is a placeholder value';
  }
  if (/^(.)\1*$/su.test(value)) return 'is one character repeated';
  if (Buffer.byteLength(value, 'utf8') < MIN_SECRET_BYTES) {
    return `is shorter than ${String(MIN_SECRET_BYTES)} bytes`;
  }
  return guessableSecret(value);
}

/** Why a hex key is unfit, or `undefined` when it is 32 bytes that look random. */
export function encryptionKeyWeakness(value: string): string | undefined {
  if (!/^[0-9a-f]{64}$/i.test(value)) return 'is not 64 hexadecimal characters (32 bytes)';
  const bytes = Buffer.from(value, 'hex');
  if (bytes.every((b) => b === 0)) return 'is all zeros';
  if (bytes.every((b) => b === bytes[0])) return 'is one byte repeated';
  // 32 random bytes have about 30 distinct values; fewer than 16 means a pattern.
  if (new Set(bytes).size < 16) return 'has too few distinct bytes to be random';
  return undefined;
}

/** A check plus the settings it judges, so a malformed setting is not reported twice. */
export interface InternalCheck extends ReadinessCheck {
  readonly variables: readonly ConfigVariable[];
}

/** What is known about `.env` in the working folder; read once, before the rules run. */
export type DotenvFacts =
  | { readonly kind: 'absent' }
  | { readonly kind: 'mode'; readonly mode: number }
  | { readonly kind: 'unreadable'; readonly code: string };

/** Everything the rules judge: the config, and the one fact that needs the file system. */
export interface ReadinessInput {
  readonly config: BulwarkConfig;
  readonly dotenv: DotenvFacts;
}

/** A rule's verdict: its status and the line the checklist shows. */
export type Verdict = readonly [status: ReadinessStatus, message: string];

/** One named production check: a small pure function of the config. */
export interface ReadinessRule {
  readonly id: ReadinessCheckId;
  /** The settings it judges: when one is malformed, the rule is left out (reported once, as malformed). */
  readonly variables: readonly ConfigVariable[];
  readonly judge: (input: ReadinessInput) => Verdict;
}

function listWeaknesses(
  name: ConfigVariable,
  values: readonly string[],
  weakness: (value: string) => string | undefined,
): string[] {
  const found: string[] = [];
  values.forEach((value, index) => {
    const why = weakness(value);
    if (why !== undefined) found.push(`${name} entry ${String(index + 1)} ${why}`);
  });
  return found;
}

function isLoopback(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '[::1]' ||
    /^127(\.\d{1,3}){3}$/.test(hostname)
  );
}

function secretKey(value: string | undefined): Verdict {
  if (value === undefined) return ['fail', 'JWT_SECRET_KEY is not set'];
  const why = secretWeakness(value);
  return why === undefined
    ? ['pass', 'JWT_SECRET_KEY is set and strong']
    : ['fail', `JWT_SECRET_KEY ${why}`];
}

function previousSecretKeys(values: readonly string[]): Verdict {
  const weak = listWeaknesses('JWT_PREVIOUS_SECRET_KEYS', values, secretWeakness);
  if (weak.length > 0) return ['fail', weak.join('; ')];
  return [
    'pass',
    values.length === 0
      ? 'JWT_PREVIOUS_SECRET_KEYS is not set'
      : `JWT_PREVIOUS_SECRET_KEYS holds ${String(values.length)} strong key(s)`,
  ];
}

function accessTtl(minutes: number): Verdict {
  return minutes > MAX_ACCESS_TTL_MINUTES
    ? [
        'warn',
        `JWT_ACCESS_TOKEN_EXPIRE_MINUTES is ${String(minutes)}: access tokens cannot be recalled once stolen, keep them at ${String(MAX_ACCESS_TTL_MINUTES)} minutes or less`,
      ]
    : ['pass', `access tokens live ${String(minutes)} minutes`];
}

function allowedOrigins(origins: readonly string[]): Verdict {
  if (origins.length === 0) {
    return [
      'fail',
      'CORS_ALLOWED_ORIGINS is empty: list the exact origins allowed to call the API',
    ];
  }
  if (origins.includes('*')) {
    return ['fail', 'CORS_ALLOWED_ORIGINS allows every origin (*): list the exact origins instead'];
  }
  const plain = origins.filter((origin) => {
    if (!origin.startsWith('http://')) return false;
    const host = origin.slice('http://'.length).replace(/:\d+$/, '');
    return !isLoopback(host);
  });
  if (plain.length > 0) {
    return ['warn', `CORS_ALLOWED_ORIGINS allows plain-http origins: ${plain.join(', ')}`];
  }
  return ['pass', `CORS_ALLOWED_ORIGINS lists ${String(origins.length)} origin(s)`];
}

// loadConfig() refuses `*` (trustedHosts() would); the rule still judges a config built by hand.
function trustedHosts(hosts: readonly string[]): Verdict {
  if (hosts.length === 0) {
    return ['fail', 'TRUSTED_HOSTS is empty: any Host header is accepted (host-header injection)'];
  }
  if (hosts.includes('*')) return ['fail', 'TRUSTED_HOSTS allows every host (*)'];
  return ['pass', `TRUSTED_HOSTS lists ${String(hosts.length)} host(s)`];
}

function httpsRedirect(enabled: boolean): Verdict {
  return enabled
    ? ['pass', 'plain-http requests are redirected to https']
    : ['warn', 'HTTPS_REDIRECT_ENABLED is off: make sure TLS is enforced in front of the app'];
}

function rateLimitStorage({ storageUri, clusterNodes }: BulwarkConfig['rateLimit']): Verdict {
  if (clusterNodes.length > 0) return ['pass', 'rate limits are counted in Redis Cluster'];
  if (storageUri !== undefined) return ['pass', 'rate limits are counted in Redis'];
  return [
    'fail',
    'RATE_LIMIT_STORAGE_URI is not set: an in-memory store counts per process and resets on restart',
  ];
}

function rateLimitFallback(enabled: boolean): Verdict {
  return enabled
    ? [
        'fail',
        'RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED is on: a Redis outage would multiply every limit by the number of processes',
      ]
    : ['pass', 'the rate limiter fails closed when Redis is down'];
}

/**
 * Where sessions, revocations and API keys live. Kept only in memory, a
 * logout in one process is not seen by another and a restart loses every
 * revocation and API key, so production needs PostgreSQL or Redis for them
 * (Redis only when it persists to disk, which bulwark cannot see from here).
 */
function authStorage(config: BulwarkConfig): Verdict {
  if (config.database.url !== undefined) {
    return ['pass', 'auth data is kept in PostgreSQL (DATABASE_URL)'];
  }
  if (config.rateLimit.storageUri !== undefined || config.rateLimit.clusterNodes.length > 0) {
    return [
      'pass',
      'auth data is kept in Redis (RATE_LIMIT_STORAGE_URI or REDIS_CLUSTER_NODES); it survives a restart only if Redis persists to disk',
    ];
  }
  return [
    'fail',
    'auth data (sessions, revocations, API keys) would live only in memory: set DATABASE_URL (PostgreSQL), RATE_LIMIT_STORAGE_URI or REDIS_CLUSTER_NODES (Redis)',
  ];
}

function logLevel(level: BulwarkConfig['logLevel']): Verdict {
  return level === 'debug' || level === 'trace'
    ? ['fail', `LOG_LEVEL is ${level}: verbose logs leak request data; use info or higher`]
    : ['pass', `LOG_LEVEL is ${level}`];
}

function encryptionKey(key: string | undefined): Verdict {
  if (key === undefined) {
    return ['warn', 'ENCRYPTION_KEY is not set: stored provider keys cannot be sealed'];
  }
  const why = encryptionKeyWeakness(key);
  return why === undefined
    ? ['pass', 'ENCRYPTION_KEY is a well-formed 256-bit key']
    : ['fail', `ENCRYPTION_KEY ${why}`];
}

function encryptionPreviousKeys(keys: readonly string[]): Verdict {
  const weak = listWeaknesses('ENCRYPTION_PREVIOUS_KEYS', keys, encryptionKeyWeakness);
  if (weak.length > 0) return ['fail', weak.join('; ')];
  return [
    'pass',
    keys.length === 0
      ? 'ENCRYPTION_PREVIOUS_KEYS is not set'
      : `ENCRYPTION_PREVIOUS_KEYS holds ${String(keys.length)} well-formed key(s)`,
  ];
}

function metricsPassword(password: string | undefined): Verdict {
  if (password === undefined) return ['pass', 'METRICS_PASSWORD is not set'];
  const why = secretWeakness(password);
  return why === undefined
    ? ['pass', 'METRICS_PASSWORD is set and strong']
    : ['fail', `METRICS_PASSWORD ${why}`];
}

// loadConfig() refuses `/0` (protectMetrics() would); the rule still judges a config built by hand.
function metricsAllowIps(allowIps: readonly string[]): Verdict {
  const open = allowIps.filter((entry) => entry.endsWith('/0'));
  if (open.length > 0)
    return ['fail', `METRICS_ALLOW_IPS allows every address (${open.join(', ')})`];
  return [
    'pass',
    allowIps.length === 0
      ? 'METRICS_ALLOW_IPS is not set'
      : `METRICS_ALLOW_IPS lists ${String(allowIps.length)} address(es) or range(s)`,
  ];
}

function dotenvPermissions(dotenv: DotenvFacts): Verdict {
  if (dotenv.kind === 'absent') return ['pass', 'no .env file'];
  if (dotenv.kind === 'unreadable') return ['warn', `.env cannot be inspected (${dotenv.code})`];
  if ((dotenv.mode & 0o077) !== 0) {
    const octal = (dotenv.mode & 0o777).toString(8).padStart(3, '0');
    return ['warn', `.env is accessible to group or others (mode ${octal}): run chmod 600 .env`];
  }
  return ['pass', '.env is readable by its owner only'];
}

/** Every production check, in checklist order: the one source of truth for loadConfig and doctor. */
export const READINESS_RULES: readonly ReadinessRule[] = [
  {
    id: 'jwt.secret_key',
    variables: ['JWT_SECRET_KEY'],
    judge: ({ config }) => secretKey(config.jwt.secretKey),
  },
  {
    id: 'jwt.previous_secret_keys',
    variables: ['JWT_PREVIOUS_SECRET_KEYS'],
    judge: ({ config }) => previousSecretKeys(config.jwt.previousSecretKeys),
  },
  {
    id: 'jwt.access_ttl',
    variables: ['JWT_ACCESS_TOKEN_EXPIRE_MINUTES'],
    judge: ({ config }) => accessTtl(config.jwt.accessTokenExpireMinutes),
  },
  {
    id: 'cors.allowed_origins',
    variables: ['CORS_ALLOWED_ORIGINS'],
    judge: ({ config }) => allowedOrigins(config.cors.allowedOrigins),
  },
  {
    id: 'trusted_hosts',
    variables: ['TRUSTED_HOSTS'],
    judge: ({ config }) => trustedHosts(config.trustedHosts),
  },
  {
    id: 'https_redirect',
    variables: ['HTTPS_REDIRECT_ENABLED'],
    judge: ({ config }) => httpsRedirect(config.httpsRedirectEnabled),
  },
  {
    id: 'rate_limit.storage',
    variables: ['RATE_LIMIT_STORAGE_URI', 'REDIS_CLUSTER_NODES'],
    judge: ({ config }) => rateLimitStorage(config.rateLimit),
  },
  {
    id: 'rate_limit.fallback',
    variables: ['RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED'],
    judge: ({ config }) => rateLimitFallback(config.rateLimit.inMemoryFallbackEnabled),
  },
  {
    id: 'auth.storage',
    variables: ['DATABASE_URL', 'RATE_LIMIT_STORAGE_URI', 'REDIS_CLUSTER_NODES'],
    judge: ({ config }) => authStorage(config),
  },
  {
    id: 'log_level',
    variables: ['LOG_LEVEL'],
    judge: ({ config }) => logLevel(config.logLevel),
  },
  {
    id: 'encryption.key',
    variables: ['ENCRYPTION_KEY'],
    judge: ({ config }) => encryptionKey(config.encryption.key),
  },
  {
    id: 'encryption.previous_keys',
    variables: ['ENCRYPTION_PREVIOUS_KEYS'],
    judge: ({ config }) => encryptionPreviousKeys(config.encryption.previousKeys),
  },
  {
    id: 'metrics.password',
    variables: ['METRICS_PASSWORD'],
    judge: ({ config }) => metricsPassword(config.metrics.password),
  },
  {
    id: 'metrics.allow_ips',
    variables: ['METRICS_ALLOW_IPS'],
    judge: ({ config }) => metricsAllowIps(config.metrics.allowIps),
  },
  {
    id: 'dotenv.permissions',
    variables: [],
    judge: ({ dotenv }) => dotenvPermissions(dotenv),
  },
];

/** What `.env` in `cwd` is: the one read of the file system behind the checklist. */
export function inspectDotenv(cwd: string): DotenvFacts {
  try {
    const stats = statSync(join(cwd, '.env'));
    return stats.isFile() ? { kind: 'mode', mode: stats.mode } : { kind: 'absent' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { kind: 'absent' } : { kind: 'unreadable', code: code ?? 'error' };
  }
}

/** Runs every rule, in order, on one config. */
export function evaluateReadiness(config: BulwarkConfig, cwd: string): InternalCheck[] {
  const input: ReadinessInput = { config, dotenv: inspectDotenv(cwd) };
  return READINESS_RULES.map(({ id, variables, judge }) => {
    const [status, message] = judge(input);
    return { id, status, message, variables };
  });
}

interface ReadinessKnown {
  cwd?: string;
}
const KNOWN_OPTIONS: KnownKeys<ReadinessKnown> = { cwd: true };

/**
 * The production checklist for a configuration, judged as if it ran in
 * production whatever its `environment`. `loadConfig()` throws on the same
 * `fail` entries in production; `bulwark doctor` prints them.
 *
 * @param config the result of `loadConfig()`
 * @param [options.cwd=process.cwd()] folder checked for a loosely permitted `.env`
 * @example
 * const failing = productionReadiness(loadConfig()).filter((c) => c.status === 'fail');
 */
export function productionReadiness(
  config: BulwarkConfig,
  options?: ProductionReadinessOptions,
): ReadinessCheck[] {
  const given: unknown = config;
  if (typeof given !== 'object' || given === null || !('jwt' in given)) {
    throw new BulwarkConfigError('productionReadiness', [
      'config must be the result of loadConfig()',
    ]);
  }
  const checker = new OptionChecker<ReadinessKnown>('productionReadiness', options, KNOWN_OPTIONS);
  const cwd = checker.string('cwd', undefined, { nonEmpty: true });
  checker.done();
  return evaluateReadiness(config, cwd ?? process.cwd()).map(({ id, status, message }) => ({
    id,
    status,
    message,
  }));
}
