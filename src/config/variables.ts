import type { LogThreshold } from '../redaction/logger.js';

/**
 * Every setting `loadConfig()` reads. `secret` settings are never echoed in a
 * message; a storage URI counts as one because it may embed a password.
 */
export const CONFIG_VARIABLES = {
  ENVIRONMENT: { aliases: ['NODE_ENV'], secret: false },
  JWT_SECRET_KEY: { aliases: ['SECRET_KEY'], secret: true },
  JWT_PREVIOUS_SECRET_KEYS: { aliases: [], secret: true },
  JWT_ACCESS_TOKEN_EXPIRE_MINUTES: { aliases: [], secret: false },
  JWT_REFRESH_TOKEN_EXPIRE_DAYS: { aliases: [], secret: false },
  JWT_ISSUER: { aliases: [], secret: false },
  JWT_AUDIENCE: { aliases: [], secret: false },
  RATE_LIMIT_REQUESTS_PER_MINUTE: { aliases: [], secret: false },
  RATE_LIMIT_WINDOW_SECONDS: { aliases: [], secret: false },
  RATE_LIMIT_STORAGE_URI: { aliases: ['REDIS_URL'], secret: true },
  REDIS_CLUSTER_NODES: { aliases: [], secret: true },
  RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED: { aliases: [], secret: false },
  CORS_ALLOWED_ORIGINS: { aliases: ['CORS_ALLOW_ORIGINS'], secret: false },
  TRUSTED_HOSTS: { aliases: [], secret: false },
  HTTPS_REDIRECT_ENABLED: { aliases: [], secret: false },
  ENCRYPTION_KEY: { aliases: [], secret: true },
  ENCRYPTION_PREVIOUS_KEYS: { aliases: [], secret: true },
  LOG_LEVEL: { aliases: [], secret: false },
  MAX_BODY_BYTES: { aliases: [], secret: false },
  REQUEST_TIMEOUT_MS: { aliases: [], secret: false },
  METRICS_USERNAME: { aliases: [], secret: true },
  METRICS_PASSWORD: { aliases: [], secret: true },
  METRICS_ALLOW_IPS: { aliases: [], secret: false },
  CIRCUIT_BREAKER_CACHE_URL: { aliases: [], secret: true },
  LLM_OUTPUT_AUDIT_RATE: { aliases: [], secret: false },
  DATABASE_URL: { aliases: [], secret: true },
} as const satisfies Record<string, { aliases: readonly string[]; secret: boolean }>;

/** The name of a setting `loadConfig()` reads (aliases resolve to these). */
export type ConfigVariable = keyof typeof CONFIG_VARIABLES;

export const CONFIG_VARIABLE_NAMES = Object.keys(CONFIG_VARIABLES) as readonly ConfigVariable[];

/**
 * A `LOG_LEVEL` value: the security logger's own threshold names (pino's),
 * checked by the logger's list, so every value `loadConfig()` accepts
 * `createSecurityLogger({ level })` takes too.
 */
export type ConfigLogLevel = LogThreshold;

/** Defaults for settings that have one; the design fixes the JWT and rate-limit ones. */
export const CONFIG_DEFAULTS = {
  environment: 'development',
  accessTokenExpireMinutes: 15,
  refreshTokenExpireDays: 14,
  issuer: 'bulwark',
  audience: 'bulwark',
  requestsPerMinute: 100,
  windowSeconds: 60,
  logLevel: 'info',
  maxBodyBytes: 100 * 1024,
  requestTimeoutMs: 30_000,
} as const;
