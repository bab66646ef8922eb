/**
 * The one error hierarchy of bulwark, on jose's model: one base class,
 * `BulwarkError`, whose `code` is one of a closed union. A rejection a
 * middleware makes is a `BulwarkError` rendered as an RFC 9457
 * `application/problem+json` body; the subclasses name the other failures:
 * `BulwarkConfigError` (bad options or settings, thrown at start-up),
 * `RedisTimeoutError` and `PostgresTimeoutError` (a store missed its deadline),
 * `RedisClusterNotConnectedError` (a cluster client has no slot map yet),
 * `PathTraversalError`, and the circuit breaker's private deadline error.
 * A subclass that sets its own `name` adds it to `BULWARK_ERROR_NAMES` below.
 */

/** Status and title of every stable error code; docs/error-codes.md mirrors this table. */
export const ERROR_CATALOG = {
  'auth.missing_credentials': { status: 401, title: 'Authentication required' },
  'auth.invalid_token': { status: 401, title: 'Invalid token' },
  'auth.token_expired': { status: 401, title: 'Token expired' },
  'auth.token_revoked': { status: 401, title: 'Token revoked' },
  'auth.invalid_credentials': { status: 401, title: 'Invalid credentials' },
  'auth.refresh_reused': { status: 401, title: 'Refresh token reused' },
  'auth.invalid_api_key': { status: 401, title: 'Invalid API key' },
  'auth.unauthorized': { status: 401, title: 'Unauthorized' },
  'auth.forbidden': { status: 403, title: 'Forbidden' },
  'auth.unavailable': { status: 503, title: 'Authentication unavailable' },
  'auth.overloaded': { status: 503, title: 'Too many sign-ins in progress' },
  'password.weak': { status: 400, title: 'Password too weak' },
  'password.too_long': { status: 400, title: 'Password too long' },
  'rate_limit.exceeded': { status: 429, title: 'Too many requests' },
  'rate_limit.budget_exceeded': { status: 429, title: 'Budget exceeded' },
  'rate_limit.unavailable': { status: 503, title: 'Rate limiter unavailable' },
  'validation.failed': { status: 400, title: 'Validation failed' },
  'request.invalid_json': { status: 400, title: 'Malformed JSON body' },
  'request.bad_request': { status: 400, title: 'Bad request' },
  'request.client_error': { status: 400, title: 'Client error' },
  'request.too_deep': { status: 400, title: 'Body nested too deeply' },
  'request.forbidden_key': { status: 400, title: 'Forbidden key in body' },
  'request.too_large': { status: 413, title: 'Request body too large' },
  'request.unsupported_media_type': { status: 415, title: 'Unsupported media type' },
  'request.timeout': { status: 503, title: 'Request timed out' },
  'path.traversal': { status: 400, title: 'Path not allowed' },
  'host.untrusted': { status: 400, title: 'Untrusted host' },
  'cors.rejected': { status: 403, title: 'Origin not allowed' },
  'upstream.unavailable': { status: 503, title: 'Upstream unavailable' },
  'resource.not_found': { status: 404, title: 'Not found' },
  'resource.conflict': { status: 409, title: 'Conflict' },
  'crypto.open_failed': { status: 500, title: 'Sealed value could not be opened' },
  'internal.error': { status: 500, title: 'Internal Server Error' },
  'store.timeout': { status: 503, title: 'Store timed out' },
  'store.unavailable': { status: 503, title: 'Store unavailable' },
  'config.invalid': { status: 500, title: 'Server misconfigured' },
} as const satisfies Record<string, { status: number; title: string }>;

/** Every stable `code` a bulwark problem can carry. */
export type BulwarkErrorCode = keyof typeof ERROR_CATALOG;

/** Prefix of the problem `type` URI; the code follows it. */
export const PROBLEM_TYPE_PREFIX = 'urn:bulwark:problem:';

/** An RFC 9457 problem document as bulwark renders it. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: BulwarkErrorCode;
  [extension: string]: unknown;
}

export interface BulwarkErrorOptions {
  /** Human-readable explanation; must never echo request input or secrets. */
  detail?: string;
  /** Extra problem members, e.g. `errors` for validation or `problems` for passwords. */
  extensions?: Record<string, unknown>;
  /** Response headers that belong to the problem (`WWW-Authenticate`, `Retry-After`). */
  headers?: Record<string, string>;
  /** The underlying error; never rendered. */
  cause?: unknown;
  /** The message for logs and stack traces; never rendered. @default `detail`, else the title */
  message?: string;
}

/** A request rejection with a stable `code`; rendered as `application/problem+json`. */
export class BulwarkError extends Error {
  readonly code: BulwarkErrorCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly extensions: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
  /** Lets Express 4's default handler pick the right status if no errorHandler is mounted. */
  readonly statusCode: number;
  /** Whether `message` is safe to show a client (as http-errors sets it): true below 500. */
  readonly expose: boolean;

  constructor(code: BulwarkErrorCode, options: BulwarkErrorOptions = {}) {
    const { status, title } = ERROR_CATALOG[code];
    super(
      options.message ?? options.detail ?? title,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.name = 'BulwarkError';
    this.expose = status < 500;
    this.code = code;
    this.status = status;
    this.statusCode = status;
    this.title = title;
    this.detail = options.detail;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  /** The problem document; never includes `cause`, stack or request input. */
  toProblem(): ProblemDocument {
    const problem: ProblemDocument = {
      ...this.extensions,
      type: PROBLEM_TYPE_PREFIX + this.code,
      title: this.title,
      status: this.status,
      code: this.code,
    };
    if (this.detail !== undefined) problem.detail = this.detail;
    return problem;
  }
}

/**
 * Thrown by factories, `loadConfig()` and the CLI: lists every problem found
 * at once. A programming or deployment error, never a client's: its problems
 * are in `message` and `problems`, never in a response (`errorHandler()`
 * answers one that escapes into a request with a bare 500).
 */
export class BulwarkConfigError extends BulwarkError {
  declare readonly code: 'config.invalid';
  readonly problems: readonly string[];

  constructor(scope: string, problems: readonly string[]) {
    super('config.invalid', {
      message:
        `${scope}: ${String(problems.length)} configuration problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    });
    this.name = 'BulwarkConfigError';
    this.problems = problems;
  }
}

/** True for a `BulwarkConfigError`, also from another copy of the package (CJS + ESM). */
export function isBulwarkConfigError(value: unknown): value is BulwarkConfigError {
  return (
    value instanceof BulwarkConfigError ||
    (value instanceof Error &&
      value.name === 'BulwarkConfigError' &&
      (value as Partial<BulwarkConfigError>).code === 'config.invalid' &&
      Array.isArray((value as Partial<BulwarkConfigError>).problems))
  );
}

/** Names the subclasses give themselves, so a copy from the other build still narrows. */
const BULWARK_ERROR_NAMES = new Set([
  'BulwarkError',
  'BulwarkConfigError',
  'RedisTimeoutError',
  'PostgresTimeoutError',
  'RedisClusterNotConnectedError',
  'UpstreamTimeout',
]);

/** Narrowing helper that also works across two copies of the package (CJS + ESM). */
export function isBulwarkError(value: unknown): value is BulwarkError {
  return (
    value instanceof BulwarkError ||
    (value instanceof Error &&
      BULWARK_ERROR_NAMES.has(value.name) &&
      typeof (value as Partial<BulwarkError>).code === 'string' &&
      Object.hasOwn(ERROR_CATALOG, (value as Partial<BulwarkError>).code ?? ''))
  );
}
