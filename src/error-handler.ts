import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { STATUS_CODES as STATUS_TEXT } from 'node:http';
import {
  BulwarkError,
  ERROR_CATALOG,
  isBulwarkConfigError,
  isBulwarkError,
  PROBLEM_TYPE_PREFIX,
  type BulwarkErrorCode,
} from './errors.js';
import { securityEvents } from './events.js';
import { currentEnvironment, isProduction } from './internal/env.js';
import { OptionChecker, type KnownKeys } from './internal/options.js';
import { PROBLEM_CONTENT_TYPE, sendProblem } from './internal/problem.js';

export interface ErrorHandlerOptions {
  /** Deployment environment; `production` hides every internal message. @default ENVIRONMENT or NODE_ENV */
  env?: string;
}

const KNOWN: KnownKeys<ErrorHandlerOptions> = { env: true };

/** body-parser / raw-body error `type`s and the problem each becomes. */
const BODY_PARSER_CODES: Readonly<Record<string, BulwarkErrorCode>> = {
  'entity.too.large': 'request.too_large',
  'parameters.too.many': 'request.too_large',
  'entity.parse.failed': 'request.invalid_json',
  'encoding.unsupported': 'request.unsupported_media_type',
  'charset.unsupported': 'request.unsupported_media_type',
  'request.aborted': 'request.bad_request',
  'request.size.invalid': 'request.bad_request',
  'entity.verify.failed': 'request.bad_request',
};

/** The problem code a foreign error's 4xx status becomes; any other 4xx is `request.client_error`. */
const STATUS_CODES: Readonly<Partial<Record<number, BulwarkErrorCode>>> = {
  400: 'request.bad_request',
  401: 'auth.unauthorized',
  403: 'auth.forbidden',
  404: 'resource.not_found',
  409: 'resource.conflict',
  413: 'request.too_large',
  415: 'request.unsupported_media_type',
  429: 'rate_limit.exceeded',
};

/** Response headers another middleware attached (http-errors' `headers`), minus those we own. */
function foreignHeaders(value: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return headers;
  for (const [name, header] of Object.entries(value)) {
    const lower = name.toLowerCase();
    if (typeof header !== 'string' || lower === 'content-type' || lower === 'content-length') {
      continue;
    }
    if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) && !/[\r\n]/.test(header)) {
      headers[name] = header;
    }
  }
  return headers;
}

interface ForeignProblem {
  status: number;
  code: BulwarkErrorCode;
  detail: string | undefined;
  headers: Record<string, string>;
}

/**
 * body-parser errors carry a `type` and become their own problems, their
 * messages never shown (a JSON parse error quotes the body). Any other error
 * with a 4xx `status` or `statusCode` (http-errors, express-jwt, Express's own
 * undecodable-parameter `URIError`) keeps that status; its message is the
 * problem's `detail` only when the error says `expose: true`, as http-errors does.
 */
function clientError(error: unknown): BulwarkError | ForeignProblem | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, status, statusCode, expose, message, headers } = error as {
    type?: unknown;
    status?: unknown;
    statusCode?: unknown;
    expose?: unknown;
    message?: unknown;
    headers?: unknown;
  };
  const parserCode = typeof type === 'string' ? BODY_PARSER_CODES[type] : undefined;
  if (parserCode !== undefined) return new BulwarkError(parserCode, { cause: error });
  const given = typeof status === 'number' ? status : statusCode;
  if (typeof given !== 'number' || !Number.isInteger(given) || given < 400 || given > 499) {
    return undefined;
  }
  const fromParser = typeof type === 'string';
  const show = expose === true && !fromParser && typeof message === 'string' && message !== '';
  const extra = foreignHeaders(headers);
  if (
    given === 401 &&
    !Object.keys(extra).some((name) => name.toLowerCase() === 'www-authenticate')
  ) {
    extra['WWW-Authenticate'] = 'Bearer realm="api"';
  }
  return {
    status: given,
    code: STATUS_CODES[given] ?? 'request.client_error',
    detail: show ? message.slice(0, 500) : undefined,
    headers: extra,
  };
}

function sendForeign(res: Response, problem: ForeignProblem): void {
  const body: Record<string, unknown> = {
    type: PROBLEM_TYPE_PREFIX + problem.code,
    title: STATUS_TEXT[problem.status] ?? ERROR_CATALOG[problem.code].title,
    status: problem.status,
    code: problem.code,
  };
  if (problem.detail !== undefined) body.detail = problem.detail;
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
  res.setHeader('Cache-Control', 'no-store');
  res.status(problem.status).end(JSON.stringify(body));
}

// An absolute POSIX or Windows path (or file: URL), not part of a relative path or a word.
const ABSOLUTE_PATH =
  /(?<![\w.~:/-])(?:file:\/\/)?(?:[A-Za-z]:)?[\\/](?:[^\s'"()<>:\\/]+[\\/])*([^\s'"()<>:\\/]*)/g;

/**
 * Development `debug` text without absolute paths: the working directory
 * becomes `.`, any other absolute path keeps only its last segment, so a
 * stack still names the file and line without telling where the app lives.
 */
export function withoutAbsolutePaths(text: string, cwd: string = process.cwd()): string {
  const relative = cwd.length > 1 ? text.split(cwd).join('.') : text;
  return relative.replace(ABSOLUTE_PATH, (_match, last: string) => `…/${last}`);
}

/**
 * Renders thrown `BulwarkError`s, body-parser errors and other middleware's
 * 4xx errors (`status` or `statusCode`, the message shown only when `expose`
 * is true) as RFC 9457 problems; anything else, a 5xx included, becomes a
 * bare 500 (with the message and stack, absolute paths removed, only outside
 * production). Mount it after every route, after `notFound()`.
 *
 * @param [options.env=process.env.ENVIRONMENT ?? process.env.NODE_ENV]
 * @example app.use(errorHandler());
 */
export function errorHandler(options?: ErrorHandlerOptions): ErrorRequestHandler {
  const check = new OptionChecker('errorHandler', options, KNOWN);
  const production = isProduction(check.string('env', currentEnvironment()));
  check.done();

  return function errorHandlerMiddleware(
    error: unknown,
    req: Request,
    res: Response,
    next: NextFunction,
  ): void {
    if (res.headersSent) {
      next(error);
      return;
    }
    // A config error reaching a request is a bug: a bare 500, reported, like any other.
    const known =
      isBulwarkError(error) && !isBulwarkConfigError(error) ? error : clientError(error);
    if (isBulwarkError(known)) {
      sendProblem(res, known);
      return;
    }
    if (known !== undefined) {
      sendForeign(res, known);
      return;
    }
    const failure = error instanceof Error ? error : new Error(String(error));
    securityEvents.emit('error.unhandled', req, {
      reason: 'unhandled_error',
      error: { name: failure.name, message: failure.message, stack: failure.stack },
    });
    const body: Record<string, unknown> = {
      type: PROBLEM_TYPE_PREFIX + 'internal.error',
      title: 'Internal Server Error',
      status: 500,
      code: 'internal.error',
    };
    if (!production) {
      body.debug = {
        message: withoutAbsolutePaths(failure.message),
        ...(failure.stack === undefined ? {} : { stack: withoutAbsolutePaths(failure.stack) }),
      };
    }
    res.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
    res.setHeader('Cache-Control', 'no-store');
    res.status(500).end(JSON.stringify(body));
  };
}

/**
 * Answers every request that reached it with a 404 `resource.not_found`
 * problem. Mount it after every route and before `errorHandler()`. It uses
 * the code a route hidden in production answers with, so an unmatched path
 * and a switched-off route look the same.
 *
 * @example
 * app.use(notFound());
 * app.use(errorHandler());
 */
export function notFound(): RequestHandler {
  const problem = new BulwarkError('resource.not_found');
  return function notFoundMiddleware(_req: Request, res: Response): void {
    sendProblem(res, problem);
  };
}
