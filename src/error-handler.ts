import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import {
  BulwarkError,
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

/**
 * body-parser errors carry a `type`; Express's own client errors are
 * http-errors with `expose: true`, or (a route parameter that does not
 * decode) a `URIError` with `status: 400`.
 * Either becomes a problem; their messages are never shown.
 */
function clientError(error: unknown): BulwarkError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, status, expose } = error as { type?: unknown; status?: unknown; expose?: unknown };
  const code = typeof type === 'string' ? BODY_PARSER_CODES[type] : undefined;
  if (code !== undefined) return new BulwarkError(code, { cause: error });
  const isClientStatus = typeof status === 'number' && status >= 400 && status < 500;
  const fromExpress = expose === true || error instanceof URIError;
  if (!isClientStatus || (typeof type !== 'string' && !fromExpress)) return undefined;
  if (status === 413) return new BulwarkError('request.too_large', { cause: error });
  if (status === 415) return new BulwarkError('request.unsupported_media_type', { cause: error });
  return new BulwarkError('request.bad_request', { cause: error });
}

/**
 * Renders thrown `BulwarkError`s and body-parser errors as RFC 9457 problems;
 * anything else becomes a bare 500 (with the message and stack only outside
 * production). Mount it after every route.
 *
 * @param [options.env=process.env.ENVIRONMENT ?? process.env.NODE_ENV]
 * @example app.use(errorHandler());
 */
export function errorHandler(options?: ErrorHandlerOptions): ErrorRequestHandler {
  const check = new OptionChecker('errorHandler', options, KNOWN);
  const production = isProduction(check.string('env', currentEnvironment()).trim().toLowerCase());
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
    const known = isBulwarkError(error) ? error : clientError(error);
    if (known !== undefined) {
      sendProblem(res, known);
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
    if (!production) body.debug = { message: failure.message, stack: failure.stack };
    res.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
    res.setHeader('Cache-Control', 'no-store');
    res.status(500).end(JSON.stringify(body));
  };
}
