import { OptionChecker, type KnownKeys } from '../../internal/options.js';
import type { AuthStore } from '../../stores/auth-store.js';
import {
  buildKeyRing,
  TOKEN_ALGORITHMS,
  type KeyRing,
  type TokenAlgorithm,
  type TokenKey,
} from '../keys.js';

export interface TokenServiceOptions {
  /** Current HMAC secret (at least 32 bytes); `loadConfig().jwt.secretKey`, or `jwtSecretsFromEnv()`. */
  secret?: string | Buffer;
  /** Earlier secrets still accepted for verification: an array, or the comma-separated `JWT_PREVIOUS_SECRET_KEYS` form. */
  previousSecrets?: readonly (string | Buffer)[] | string;
  /** A key ring instead of `secret`: `keys[0]` signs, every key verifies. */
  keys?: readonly TokenKey[];
  /** The accepted algorithms, never read from a token. @default ['HS256'] with `secret`; the keys' algorithms with `keys` */
  algorithms?: readonly TokenAlgorithm[];
  /** `iss` written and required. */
  issuer: string;
  /** `aud` written and required. */
  audience: string;
  /** Access-token lifetime in seconds. @default 900 */
  accessTtlSeconds?: number;
  /** Lifetime of each refresh token in seconds (renewed by rotation, capped by `familyTtlSeconds`). @default 1209600 (14 days) */
  refreshTtlSeconds?: number;
  /** Absolute lifetime of a login session (refresh family) in seconds; no rotation extends it. @default max(refreshTtlSeconds, 30 days) */
  familyTtlSeconds?: number;
  /** Seconds of clock skew allowed on `exp` and `nbf` (0-30). @default 0 */
  clockToleranceSeconds?: number;
  /** The earlier name of `accessTtlSeconds`, still accepted; give one or the other. */
  accessTtl?: number;
  /** The earlier name of `refreshTtlSeconds`, still accepted; give one or the other. */
  refreshTtl?: number;
  /** The earlier name of `familyTtlSeconds`, still accepted; give one or the other. */
  familyTtl?: number;
  /** The earlier name of `clockToleranceSeconds`, still accepted; give one or the other. */
  clockTolerance?: number;
  /** Where refresh families, the `jti` denylist and revoke-all epochs live. */
  store: AuthStore;
  /** Clock in ms since the epoch, for tests. @default Date.now */
  now?: () => number;
}

/** The options once checked: every value present and of its type. */
export interface TokenSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly accessTtl: number;
  readonly refreshTtl: number;
  readonly familyTtl: number;
  readonly clockTolerance: number;
  readonly store: AuthStore;
  readonly now: () => number;
  readonly keyRing: KeyRing;
}

const KNOWN: KnownKeys<TokenServiceOptions> = {
  secret: true,
  previousSecrets: true,
  keys: true,
  algorithms: true,
  issuer: true,
  audience: true,
  accessTtlSeconds: true,
  refreshTtlSeconds: true,
  familyTtlSeconds: true,
  clockToleranceSeconds: true,
  accessTtl: true,
  refreshTtl: true,
  familyTtl: true,
  clockTolerance: true,
  store: true,
  now: true,
};

const DAY = 86_400;
/** Bounds of the access-token lifetime; `loadConfig()` checks JWT_ACCESS_TOKEN_EXPIRE_MINUTES by them. */
export const ACCESS_TTL_SECONDS = { min: 1, max: DAY } as const;
/** Bounds of a refresh token's lifetime; `loadConfig()` checks JWT_REFRESH_TOKEN_EXPIRE_DAYS by them. */
export const REFRESH_TTL_SECONDS = { min: 60, max: 365 * DAY } as const;
const STORE_METHODS = [
  'get',
  'getMany',
  'set',
  'createRefreshFamily',
  'rotateRefreshToken',
  'revokeRefreshFamily',
] as const;

function splitSecrets(value: readonly (string | Buffer)[] | string): (string | Buffer)[] {
  return typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : [...value];
}

/** Checks `createTokenService()`'s options, every problem in one `BulwarkConfigError`. */
export function tokenSettings(options: TokenServiceOptions): TokenSettings {
  const check = new OptionChecker('createTokenService', options, KNOWN);
  const problems: string[] = [];
  const issuer = check.string('issuer', undefined, { nonEmpty: true, maxLength: 512 });
  const audience = check.string('audience', undefined, { nonEmpty: true, maxLength: 512 });
  if (issuer === undefined) check.problem('`issuer` is required');
  if (audience === undefined) check.problem('`audience` is required');
  const accessTtl = check.number(check.renamed('accessTtlSeconds', 'accessTtl'), {
    ...ACCESS_TTL_SECONDS,
    integer: true,
    default: 900,
  });
  const refreshTtl = check.number(check.renamed('refreshTtlSeconds', 'refreshTtl'), {
    ...REFRESH_TTL_SECONDS,
    integer: true,
    default: 14 * DAY,
  });
  const familyTtl = check.number(check.renamed('familyTtlSeconds', 'familyTtl'), {
    min: 60,
    max: 365 * DAY,
    integer: true,
    default: Math.max(refreshTtl, 30 * DAY),
  });
  const clockTolerance = check.number(check.renamed('clockToleranceSeconds', 'clockTolerance'), {
    min: 0,
    max: 30,
    default: 0,
  });
  const now = check.func<() => number>('now') ?? Date.now;
  const store = check.raw('store') as AuthStore | undefined;
  if (
    typeof store !== 'object' ||
    STORE_METHODS.some((m) => typeof (store as Partial<AuthStore>)[m] !== 'function')
  ) {
    check.problem('`store` must be an AuthStore: memoryStore() or redisStore(client)');
  }
  const algorithmsGiven = check.raw('algorithms');
  if (
    algorithmsGiven !== undefined &&
    (!Array.isArray(algorithmsGiven) ||
      algorithmsGiven.length === 0 ||
      !algorithmsGiven.every((a) => (TOKEN_ALGORITHMS as readonly unknown[]).includes(a)))
  ) {
    check.problem(`\`algorithms\` must list one or more of ${TOKEN_ALGORITHMS.join(', ')}`);
  }
  const algorithms = Array.isArray(algorithmsGiven)
    ? (algorithmsGiven as TokenAlgorithm[])
    : undefined;

  let ring: KeyRing | undefined;
  if (check.has('keys')) {
    if (check.has('secret') || check.has('previousSecrets')) {
      check.problem('give either `keys` or `secret`/`previousSecrets`, not both');
    }
    const given = check.raw('keys');
    if (!Array.isArray(given)) {
      check.problem('`keys` must be an array of keys');
    } else {
      const ringKeys = given as TokenKey[];
      const allowed = new Set(algorithms ?? ringKeys.map((k) => k.algorithm));
      ring = buildKeyRing(ringKeys, allowed, problems);
    }
  } else {
    const secret = check.raw('secret');
    const previous = check.raw('previousSecrets');
    // The factory reads no environment: the secret comes from loadConfig() or an explicit helper.
    if (secret === undefined) {
      check.problem(
        'no signing key: give `secret` or `keys`, e.g. `secret: loadConfig().jwt.secretKey`, or spread `...jwtSecretsFromEnv()` to read JWT_SECRET_KEY',
      );
    }
    const algorithm = algorithms?.[0] ?? 'HS256';
    if (algorithms !== undefined && (algorithms.length !== 1 || !algorithm.startsWith('HS'))) {
      check.problem('with `secret`, `algorithms` must be one HMAC algorithm (HS256, HS384, HS512)');
    } else if (secret !== undefined) {
      if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) {
        check.problem('`secret` must be a string or Buffer');
      } else if (
        previous !== undefined &&
        typeof previous !== 'string' &&
        !(
          Array.isArray(previous) &&
          previous.every((p) => typeof p === 'string' || Buffer.isBuffer(p))
        )
      ) {
        check.problem('`previousSecrets` must be an array of strings or a comma-separated string');
      } else {
        const secrets = [secret, ...(previous === undefined ? [] : splitSecrets(previous))];
        ring = buildKeyRing(
          secrets.map((s) => ({ algorithm, secret: s })),
          new Set([algorithm]),
          problems,
        );
      }
    }
  }
  for (const problem of problems) check.problem(problem);
  // Every path that leaves the ring unbuilt has recorded a problem.
  const required = check.done({ issuer, audience, store, keyRing: ring });
  return { ...required, accessTtl, refreshTtl, familyTtl, clockTolerance, now };
}
