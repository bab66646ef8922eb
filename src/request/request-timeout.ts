import type { NextFunction, Request, Response } from 'express';
import type { RouteAgnosticHandler } from '../handler.js';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { MAX_TIMER_MS } from '../internal/timers.js';
import { sendProblem } from '../internal/problem.js';

export interface RequestTimeoutOptions {
  /** Milliseconds the handler has to start its answer. */
  ms: number;
}

const KNOWN: KnownKeys<RequestTimeoutOptions> = { ms: true };

function swallowedWriteHead(this: Response): Response {
  return this;
}

function swallowedWrite(): boolean {
  return true;
}

function swallowedEnd(this: Response): Response {
  return this;
}

function ignored(this: Response): Response {
  return this;
}

/** After the 503 went out, a late handler's writes are swallowed instead of throwing `ERR_HTTP_HEADERS_SENT`. */
function silence(res: Response): void {
  res.writeHead = swallowedWriteHead as Response['writeHead'];
  res.write = swallowedWrite as Response['write'];
  res.end = swallowedEnd as Response['end'];
  res.setHeader = ignored as Response['setHeader'];
  res.appendHeader = ignored as Response['appendHeader'];
  res.removeHeader = () => undefined;
}

/**
 * Answers 503 `request.timeout` (and raises a `request.timeout` event) when the
 * handler has not started its response within `ms`. Whatever the handler writes
 * afterwards is discarded, so it can neither send a second response nor crash
 * the process. The handler itself keeps running: pass work a deadline of its own.
 *
 * @param msOrOptions milliseconds, or `{ ms }`
 * @example app.use(requestTimeout(30_000));
 */
export function requestTimeout(msOrOptions: number | RequestTimeoutOptions): RouteAgnosticHandler {
  const options: RequestTimeoutOptions | undefined =
    typeof msOrOptions === 'number' ? { ms: msOrOptions } : msOrOptions;
  const check = new OptionChecker('requestTimeout', options, KNOWN);
  if (!check.has('ms')) check.problem('`ms` is required: how long a handler may take to answer');
  const ms = check.number('ms', { min: 1, max: MAX_TIMER_MS, integer: true, default: 0 });
  check.done();

  return function requestTimeoutMiddleware(req: Request, res: Response, next: NextFunction): void {
    const timer = setTimeout(() => {
      if (res.headersSent || res.writableEnded) return;
      securityEvents.emit('request.timeout', req, { reason: 'deadline', timeoutMs: ms });
      sendProblem(res, new BulwarkError('request.timeout'));
      silence(res);
    }, ms);
    // A response emits 'close' after 'finish' and when its connection drops, so one listener
    // covers both; and it emits it once, so `on` does what `once` would without the removal.
    res.on('close', () => {
      clearTimeout(timer);
    });
    next();
  };
}
