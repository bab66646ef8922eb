import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  BulwarkConfigError,
  loadConfig,
  settingFromEnv,
  type BulwarkConfig,
  type ConfigValues,
} from '../src/index.js';

/** What the example reads besides bulwark's own settings (see examples/README.md). */
export interface ExampleSettings {
  port: number;
  host: string;
  workspaceRoot: string;
  /** Whether `workspaceRoot` is the example's own folder, created with sample files when missing. */
  defaultWorkspace: boolean;
  adminUsername: string;
  adminPassword: string | undefined;
  redisPrefix: string;
  trustProxyHops: number;
  costBudgetTokens: number;
  costWindowSeconds: number;
  maxUsers: number;
  /** bcrypt cost of the password hashes the example makes and checks (10-15). */
  passwordHashCost: number;
}

/** Prefix that `loadConfig()` refuses in production, so a generated secret can never ship. */
export const DEV_SECRET_PREFIX = 'dev-insecure-';

export const DEFAULT_WORKSPACE = fileURLToPath(new URL('./workspace/', import.meta.url));

/** A Vite dev server, the usual front end during development. */
const DEV_ORIGINS = 'http://localhost:5173,http://127.0.0.1:5173';

function wholeNumber(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d{1,10}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= min && value <= max)) {
    problems.push(
      `${name} must be a whole number from ${String(min)} to ${String(max)}, got "${raw}"`,
    );
    return fallback;
  }
  return value;
}

function text(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

/** Secrets the example reads besides bulwark's own; each also comes from `NAME_FILE` or the secrets folder. */
export const EXAMPLE_SECRETS = ['ADMIN_PASSWORD', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY'] as const;

/**
 * A secret through the same reader as `loadConfig()`: the variable, then
 * `NAME_FILE`, then the secrets folder. An unreadable file is a problem
 * naming the variable.
 */
function secret(env: NodeJS.ProcessEnv, name: string, problems: string[]): string | undefined {
  try {
    return settingFromEnv(name, { env });
  } catch (error) {
    if (!(error instanceof BulwarkConfigError)) throw error;
    problems.push(...error.problems);
    return undefined;
  }
}

/**
 * The environment with every example secret filled in from its file, for code
 * that reads plain variables (the provider set-up).
 */
export function withSecretFiles(env: NodeJS.ProcessEnv, problems: string[]): NodeJS.ProcessEnv {
  const filled: NodeJS.ProcessEnv = { ...env };
  for (const name of EXAMPLE_SECRETS) {
    const value = secret(env, name, problems);
    if (value !== undefined) filled[name] = value;
  }
  return filled;
}

function readSettings(env: NodeJS.ProcessEnv, problems: string[]): ExampleSettings {
  const host = text(env, 'HOST') ?? '127.0.0.1';
  const redisPrefix = text(env, 'BULWARK_REDIS_PREFIX') ?? 'bulwark-example:';
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(redisPrefix)) {
    problems.push('BULWARK_REDIS_PREFIX must be 1-64 characters of A-Z a-z 0-9 : _ . -');
  }
  const adminUsername = text(env, 'ADMIN_USERNAME') ?? 'admin';
  if (!/^[A-Za-z0-9._-]{3,64}$/.test(adminUsername)) {
    problems.push('ADMIN_USERNAME must be 3-64 characters of A-Z a-z 0-9 . _ -');
  }
  const workspace = text(env, 'WORKSPACE_ROOT');
  return {
    port: wholeNumber(env, 'PORT', 3000, 1, 65535, problems),
    host,
    workspaceRoot: workspace ?? DEFAULT_WORKSPACE,
    defaultWorkspace: workspace === undefined,
    adminUsername,
    adminPassword: text(env, 'ADMIN_PASSWORD'),
    redisPrefix,
    trustProxyHops: wholeNumber(env, 'TRUST_PROXY_HOPS', 0, 0, 10, problems),
    costBudgetTokens: wholeNumber(env, 'COST_BUDGET_TOKENS', 100_000, 1, 1_000_000_000, problems),
    costWindowSeconds: wholeNumber(env, 'COST_WINDOW_SECONDS', 3600, 1, 2_147_483, problems),
    maxUsers: wholeNumber(env, 'MAX_USERS', 10_000, 1, 1_000_000, problems),
    // Never below bulwark's floor of 10, which hashPassword enforces as well.
    passwordHashCost: wholeNumber(env, 'PASSWORD_HASH_COST', 12, 10, 15, problems),
  };
}

/**
 * Outside production, fills in what a developer has not set, so `npm run
 * example` works on a fresh machine: a random JWT secret carrying the
 * `dev-insecure-` prefix, the local host names, and a local front-end origin.
 * In production nothing is filled in and `loadConfig()` refuses what is missing.
 */
function loadWithDevDefaults(env: NodeJS.ProcessEnv, port: number): BulwarkConfig {
  const first = loadConfig({ env });
  if (first.production) return first;
  const values: ConfigValues = {};
  if (first.jwt.secretKey === undefined) {
    values.JWT_SECRET_KEY = DEV_SECRET_PREFIX + randomBytes(32).toString('base64url');
  }
  if (first.trustedHosts.length === 0) {
    const p = String(port);
    values.TRUSTED_HOSTS = `localhost:${p},127.0.0.1:${p},[::1]:${p}`;
  }
  if (first.cors.allowedOrigins.length === 0) values.CORS_ALLOWED_ORIGINS = DEV_ORIGINS;
  return Object.keys(values).length === 0 ? first : loadConfig({ env, values });
}

/**
 * Reads the example's settings and bulwark's config, and throws one
 * `BulwarkConfigError` listing every problem of both.
 */
export function loadExampleSettings(given: NodeJS.ProcessEnv): {
  settings: ExampleSettings;
  config: BulwarkConfig;
  /** The environment with the example's secrets read from their files. */
  env: NodeJS.ProcessEnv;
} {
  const problems: string[] = [];
  const env = withSecretFiles(given, problems);
  const settings = readSettings(env, problems);
  let config: BulwarkConfig | undefined;
  try {
    config = loadWithDevDefaults(env, settings.port);
  } catch (error) {
    if (!(error instanceof BulwarkConfigError)) throw error;
    problems.push(...error.problems);
  }
  // Judged from the variables too, so the problem is listed even when loadConfig() refused.
  const production =
    config?.production ?? /^prod(uction)?$/i.test(env.ENVIRONMENT ?? env.NODE_ENV ?? '');
  if (production && settings.adminPassword === undefined) {
    // A generated password printed to a production log would be a leaked credential.
    problems.push('ADMIN_PASSWORD is not set: production never generates an admin password');
  }
  if (problems.length > 0 || config === undefined) {
    throw new BulwarkConfigError('example server', problems);
  }
  return { settings, config, env };
}
