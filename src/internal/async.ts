import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Express 4 does not catch rejected promises; this routes them to `next(err)`
 * on both majors.
 */
export function asyncMiddleware(
  name: string,
  fn: (req: Request, res: Response, next: NextFunction) => Promise<void>,
): RequestHandler {
  const wrapped = (req: Request, res: Response, next: NextFunction): void => {
    fn(req, res, next).catch(next);
  };
  Object.defineProperty(wrapped, 'name', { value: name });
  return wrapped;
}

/** Whether a result is a promise (or another thenable): what a caller awaits only when it must. */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
