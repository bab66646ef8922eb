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
