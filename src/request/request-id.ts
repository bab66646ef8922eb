import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { RouteAgnosticHandler } from '../handler.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';

export interface RequestIdOptions {
  /** Header read from the request and written on the response. @default 'X-Request-Id' */
  header?: string;
  /** Accept a well-formed incoming id (behind a proxy that sets one). @default true */
  trustIncoming?: boolean;
  /** Longest incoming id accepted. @default 128 */
  maxLength?: number;
  /** Makes a new id. @default crypto.randomUUID */
  generate?: () => string;
}

const KNOWN: KnownKeys<RequestIdOptions> = {
  header: true,
  trustIncoming: true,
  maxLength: true,
  generate: true,
};

// Letters, digits and a few separators: nothing that can split a log line or a header.
const SAFE_ID = /^[A-Za-z0-9._:@-]+$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Gives every request a correlation id, on `req.requestId`, on the response
 * header and on every security event.
 *
 * @param [options.header='X-Request-Id']
 * @param [options.trustIncoming=true]
 * @param [options.maxLength=128]
 * @example app.use(requestId());
 */
export function requestId(options?: RequestIdOptions): RouteAgnosticHandler {
  const check = new OptionChecker('requestId', options, KNOWN);
  const header = check.string('header', 'X-Request-Id', { nonEmpty: true, pattern: TOKEN });
  const trustIncoming = check.boolean('trustIncoming', true);
  const maxLength = check.number('maxLength', { min: 1, max: 1024, integer: true, default: 128 });
  const generate = check.func<() => string>('generate') ?? randomUUID;
  check.done();
  const headerKey = header.toLowerCase();

  return function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
    const incoming = trustIncoming ? req.headers[headerKey] : undefined;
    const id =
      typeof incoming === 'string' && incoming.length <= maxLength && SAFE_ID.test(incoming)
        ? incoming
        : generate();
    req.requestId = id;
    res.setHeader(header, id);
    next();
  };
}
