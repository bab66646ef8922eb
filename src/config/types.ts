import type { ConfigVariable, ConfigLogLevel } from './variables.js';

/** Settings given directly, as strings, the way the environment would give them. */
export type ConfigValues = Partial<Record<ConfigVariable, string>>;

export interface LoadConfigOptions {
  /** Explicit values; they win over every other source. */
  values?: ConfigValues;
  /** The environment to read; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /**
   * Folder holding one file per secret. Default: `SETTINGS_SECRETS_DIR`, else
   * `/run/secrets` when it exists. `false` reads no secrets folder.
   */
  secretsDir?: string | false;
  /** Folder checked for a group- or world-readable `.env`; `process.cwd()` by default. */
  cwd?: string;
}

export interface JwtConfig {
  /** Signs new tokens. `undefined` only outside production. */
  readonly secretKey: string | undefined;
  /** Still verify tokens, so the signing key rotates without logging everyone out. */
  readonly previousSecretKeys: readonly string[];
  readonly accessTokenExpireMinutes: number;
  readonly refreshTokenExpireDays: number;
  readonly issuer: string;
  readonly audience: string;
}

export interface RateLimitConfig {
  readonly requestsPerMinute: number;
  readonly windowSeconds: number;
  /** `redis://` or `rediss://` URL; `undefined` means the in-memory store. */
  readonly storageUri: string | undefined;
  /**
   * Nodes of a Redis Cluster (`REDIS_CLUSTER_NODES`); when not empty, used
   * instead of `storageUri`, through `createRedisClient({ cluster })`.
   */
  readonly clusterNodes: readonly string[];
  readonly inMemoryFallbackEnabled: boolean;
}

export interface EncryptionConfig {
  /** 64 hex characters (a 256-bit key); `undefined` when not configured. */
  readonly key: string | undefined;
  /** Still open values sealed under these, so the key rotates without downtime. */
  readonly previousKeys: readonly string[];
}

export interface CircuitBreakerConfig {
  /** Where the breaker keeps last good answers: `redis://` or `rediss://`; defaults to `rateLimit.storageUri`. */
  readonly cacheUrl: string | undefined;
}

export interface LlmConfig {
  /** Fraction (0 to 1) of completions `outputAudit()` records as `llm.output` events; 0 turns it off. */
  readonly outputAuditRate: number;
}

export interface DatabaseConfig {
  /** `postgres://` or `postgresql://` URL of the database that keeps auth data; `undefined` when not set. */
  readonly url: string | undefined;
}

export interface MetricsConfig {
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** IP addresses and CIDR ranges allowed to read `/metrics`. */
  readonly allowIps: readonly string[];
}

/**
 * The typed, frozen result of `loadConfig()`. Secret members print as
 * `[REDACTED]` through `JSON.stringify` and `util.inspect` (so `console.log`).
 */
export interface BulwarkConfig {
  /** Lower-cased `ENVIRONMENT` (or `NODE_ENV`), `development` when unset. */
  readonly environment: string;
  /** True for `production` and `prod`. */
  readonly production: boolean;
  readonly jwt: JwtConfig;
  readonly rateLimit: RateLimitConfig;
  readonly cors: { readonly allowedOrigins: readonly string[] };
  readonly trustedHosts: readonly string[];
  readonly httpsRedirectEnabled: boolean;
  readonly encryption: EncryptionConfig;
  readonly logLevel: ConfigLogLevel;
  readonly maxBodyBytes: number;
  readonly requestTimeoutMs: number;
  readonly metrics: MetricsConfig;
  readonly circuitBreaker: CircuitBreakerConfig;
  readonly llm: LlmConfig;
  /** PostgreSQL for users, sessions and API keys (`DATABASE_URL`). */
  readonly database: DatabaseConfig;
  /** Problems worth a log line that do not stop start-up. */
  readonly warnings: readonly string[];
}

export type ReadinessStatus = 'pass' | 'warn' | 'fail';

export type ReadinessCheckId =
  | 'jwt.secret_key'
  | 'jwt.previous_secret_keys'
  | 'jwt.access_ttl'
  | 'cors.allowed_origins'
  | 'trusted_hosts'
  | 'https_redirect'
  | 'rate_limit.storage'
  | 'rate_limit.fallback'
  | 'auth.storage'
  | 'log_level'
  | 'encryption.key'
  | 'encryption.previous_keys'
  | 'metrics.password'
  | 'metrics.allow_ips'
  | 'dotenv.permissions';

/** One line of the production checklist. Messages name variables, never values of secrets. */
export interface ReadinessCheck {
  readonly id: ReadinessCheckId;
  readonly status: ReadinessStatus;
  readonly message: string;
}

export interface ProductionReadinessOptions {
  /** Folder checked for a group- or world-readable `.env`; `process.cwd()` by default. */
  cwd?: string;
}
