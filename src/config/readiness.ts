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

function check(
  id: ReadinessCheckId,
  status: ReadinessStatus,
  message: string,
  variables: readonly ConfigVariable[],
): InternalCheck {
  return { id, status, message, variables };
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

function corsCheck(origins: readonly string[]): InternalCheck {
  const vars: ConfigVariable[] = ['CORS_ALLOWED_ORIGINS'];
  if (origins.length === 0) {
    return check(
      'cors.allowed_origins',
      'fail',
      'CORS_ALLOWED_ORIGINS is empty: list the exact origins allowed to call the API',
      vars,
    );
  }
  if (origins.includes('*')) {
    return check(
      'cors.allowed_origins',
      'fail',
      'CORS_ALLOWED_ORIGINS allows every origin (*): list the exact origins instead',
      vars,
    );
  }
  const plain = origins.filter((origin) => {
    if (!origin.startsWith('http://')) return false;
    const host = origin.slice('http://'.length).replace(/:\d+$/, '');
    return !isLoopback(host);
  });
  if (plain.length > 0) {
    return check(
      'cors.allowed_origins',
      'warn',
      `CORS_ALLOWED_ORIGINS allows plain-http origins: ${plain.join(', ')}`,
      vars,
    );
  }
  return check(
    'cors.allowed_origins',
    'pass',
    `CORS_ALLOWED_ORIGINS lists ${String(origins.length)} origin(s)`,
    vars,
  );
}

function dotenvCheck(cwd: string): InternalCheck {
  let mode: number;
  try {
    const stats = statSync(join(cwd, '.env'));
    if (!stats.isFile()) return check('dotenv.permissions', 'pass', 'no .env file', []);
    mode = stats.mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return check('dotenv.permissions', 'pass', 'no .env file', []);
    }
    return check(
      'dotenv.permissions',
      'warn',
      `.env cannot be inspected (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      [],
    );
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(3, '0');
    return check(
      'dotenv.permissions',
      'warn',
      `.env is accessible to group or others (mode ${octal}): run chmod 600 .env`,
      [],
    );
  }
  return check('dotenv.permissions', 'pass', '.env is readable by its owner only', []);
}

/**
 * Where sessions, revocations and API keys live. Kept only in memory, a
 * logout in one process is not seen by another and a restart loses every
 * revocation and API key, so production needs PostgreSQL or Redis for them
 * (Redis only when it persists to disk, which bulwark cannot see from here).
 */
function authStorageCheck(config: BulwarkConfig): InternalCheck {
  const vars: ConfigVariable[] = ['DATABASE_URL', 'RATE_LIMIT_STORAGE_URI', 'REDIS_CLUSTER_NODES'];
  if (config.database.url !== undefined) {
    return check('auth.storage', 'pass', 'auth data is kept in PostgreSQL (DATABASE_URL)', vars);
  }
  if (config.rateLimit.storageUri !== undefined || config.rateLimit.clusterNodes.length > 0) {
    return check(
      'auth.storage',
      'pass',
      'auth data is kept in Redis (RATE_LIMIT_STORAGE_URI or REDIS_CLUSTER_NODES); it survives a restart only if Redis persists to disk',
      vars,
    );
  }
  return check(
    'auth.storage',
    'fail',
    'auth data (sessions, revocations, API keys) would live only in memory: set DATABASE_URL (PostgreSQL), RATE_LIMIT_STORAGE_URI or REDIS_CLUSTER_NODES (Redis)',
    vars,
  );
}

/** Every production check, in checklist order. The one source of truth for loadConfig and doctor. */
export function evaluateReadiness(config: BulwarkConfig, cwd: string): InternalCheck[] {
  const checks: InternalCheck[] = [];
  const { jwt, rateLimit, encryption, metrics } = config;

  if (jwt.secretKey === undefined) {
    checks.push(check('jwt.secret_key', 'fail', 'JWT_SECRET_KEY is not set', ['JWT_SECRET_KEY']));
  } else {
    const why = secretWeakness(jwt.secretKey);
    checks.push(
      why === undefined
        ? check('jwt.secret_key', 'pass', 'JWT_SECRET_KEY is set and strong', ['JWT_SECRET_KEY'])
        : check('jwt.secret_key', 'fail', `JWT_SECRET_KEY ${why}`, ['JWT_SECRET_KEY']),
    );
  }

  const previous = listWeaknesses(
    'JWT_PREVIOUS_SECRET_KEYS',
    jwt.previousSecretKeys,
    secretWeakness,
  );
  checks.push(
    previous.length > 0
      ? check('jwt.previous_secret_keys', 'fail', previous.join('; '), ['JWT_PREVIOUS_SECRET_KEYS'])
      : check(
          'jwt.previous_secret_keys',
          'pass',
          jwt.previousSecretKeys.length === 0
            ? 'JWT_PREVIOUS_SECRET_KEYS is not set'
            : `JWT_PREVIOUS_SECRET_KEYS holds ${String(jwt.previousSecretKeys.length)} strong key(s)`,
          ['JWT_PREVIOUS_SECRET_KEYS'],
        ),
  );

  checks.push(
    jwt.accessTokenExpireMinutes > MAX_ACCESS_TTL_MINUTES
      ? check(
          'jwt.access_ttl',
          'warn',
          `JWT_ACCESS_TOKEN_EXPIRE_MINUTES is ${String(jwt.accessTokenExpireMinutes)}: access tokens cannot be recalled once stolen, keep them at ${String(MAX_ACCESS_TTL_MINUTES)} minutes or less`,
          ['JWT_ACCESS_TOKEN_EXPIRE_MINUTES'],
        )
      : check(
          'jwt.access_ttl',
          'pass',
          `access tokens live ${String(jwt.accessTokenExpireMinutes)} minutes`,
          ['JWT_ACCESS_TOKEN_EXPIRE_MINUTES'],
        ),
  );

  checks.push(corsCheck(config.cors.allowedOrigins));

  if (config.trustedHosts.length === 0) {
    checks.push(
      check(
        'trusted_hosts',
        'fail',
        'TRUSTED_HOSTS is empty: any Host header is accepted (host-header injection)',
        ['TRUSTED_HOSTS'],
      ),
    );
  } else if (config.trustedHosts.includes('*')) {
    checks.push(
      check('trusted_hosts', 'fail', 'TRUSTED_HOSTS allows every host (*)', ['TRUSTED_HOSTS']),
    );
  } else {
    checks.push(
      check(
        'trusted_hosts',
        'pass',
        `TRUSTED_HOSTS lists ${String(config.trustedHosts.length)} host(s)`,
        ['TRUSTED_HOSTS'],
      ),
    );
  }

  checks.push(
    config.httpsRedirectEnabled
      ? check('https_redirect', 'pass', 'plain-http requests are redirected to https', [
          'HTTPS_REDIRECT_ENABLED',
        ])
      : check(
          'https_redirect',
          'warn',
          'HTTPS_REDIRECT_ENABLED is off: make sure TLS is enforced in front of the app',
          ['HTTPS_REDIRECT_ENABLED'],
        ),
  );

  checks.push(
    rateLimit.storageUri === undefined && rateLimit.clusterNodes.length === 0
      ? check(
          'rate_limit.storage',
          'fail',
          'RATE_LIMIT_STORAGE_URI is not set: an in-memory store counts per process and resets on restart',
          ['RATE_LIMIT_STORAGE_URI', 'REDIS_CLUSTER_NODES'],
        )
      : check(
          'rate_limit.storage',
          'pass',
          rateLimit.clusterNodes.length > 0
            ? 'rate limits are counted in Redis Cluster'
            : 'rate limits are counted in Redis',
          ['RATE_LIMIT_STORAGE_URI', 'REDIS_CLUSTER_NODES'],
        ),
  );

  checks.push(
    rateLimit.inMemoryFallbackEnabled
      ? check(
          'rate_limit.fallback',
          'fail',
          'RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED is on: a Redis outage would multiply every limit by the number of processes',
          ['RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED'],
        )
      : check('rate_limit.fallback', 'pass', 'the rate limiter fails closed when Redis is down', [
          'RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED',
        ]),
  );

  checks.push(authStorageCheck(config));

  checks.push(
    config.logLevel === 'debug' || config.logLevel === 'trace'
      ? check(
          'log_level',
          'fail',
          `LOG_LEVEL is ${config.logLevel}: verbose logs leak request data; use info or higher`,
          ['LOG_LEVEL'],
        )
      : check('log_level', 'pass', `LOG_LEVEL is ${config.logLevel}`, ['LOG_LEVEL']),
  );

  if (encryption.key === undefined) {
    checks.push(
      check(
        'encryption.key',
        'warn',
        'ENCRYPTION_KEY is not set: stored provider keys cannot be sealed',
        ['ENCRYPTION_KEY'],
      ),
    );
  } else {
    const why = encryptionKeyWeakness(encryption.key);
    checks.push(
      why === undefined
        ? check('encryption.key', 'pass', 'ENCRYPTION_KEY is a well-formed 256-bit key', [
            'ENCRYPTION_KEY',
          ])
        : check('encryption.key', 'fail', `ENCRYPTION_KEY ${why}`, ['ENCRYPTION_KEY']),
    );
  }

  const oldKeys = listWeaknesses(
    'ENCRYPTION_PREVIOUS_KEYS',
    encryption.previousKeys,
    encryptionKeyWeakness,
  );
  checks.push(
    oldKeys.length > 0
      ? check('encryption.previous_keys', 'fail', oldKeys.join('; '), ['ENCRYPTION_PREVIOUS_KEYS'])
      : check(
          'encryption.previous_keys',
          'pass',
          encryption.previousKeys.length === 0
            ? 'ENCRYPTION_PREVIOUS_KEYS is not set'
            : `ENCRYPTION_PREVIOUS_KEYS holds ${String(encryption.previousKeys.length)} well-formed key(s)`,
          ['ENCRYPTION_PREVIOUS_KEYS'],
        ),
  );

  if (metrics.password === undefined) {
    checks.push(
      check('metrics.password', 'pass', 'METRICS_PASSWORD is not set', ['METRICS_PASSWORD']),
    );
  } else {
    const why = secretWeakness(metrics.password);
    checks.push(
      why === undefined
        ? check('metrics.password', 'pass', 'METRICS_PASSWORD is set and strong', [
            'METRICS_PASSWORD',
          ])
        : check('metrics.password', 'fail', `METRICS_PASSWORD ${why}`, ['METRICS_PASSWORD']),
    );
  }

  const open = metrics.allowIps.filter((entry) => entry.endsWith('/0'));
  checks.push(
    open.length > 0
      ? check(
          'metrics.allow_ips',
          'fail',
          `METRICS_ALLOW_IPS allows every address (${open.join(', ')})`,
          ['METRICS_ALLOW_IPS'],
        )
      : check(
          'metrics.allow_ips',
          'pass',
          metrics.allowIps.length === 0
            ? 'METRICS_ALLOW_IPS is not set'
            : `METRICS_ALLOW_IPS lists ${String(metrics.allowIps.length)} address(es) or range(s)`,
          ['METRICS_ALLOW_IPS'],
        ),
  );

  checks.push(dotenvCheck(cwd));
  return checks;
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
