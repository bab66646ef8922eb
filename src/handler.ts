import type { NextFunction } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The type of a middleware that reads no route-specific part of the request
 * (`jwtAuth`, `apiKeyAuth`, `requireRole`, `requireScope`, `pathGuard`,
 * `protectMetrics`, the rate limiters, `bodyLimits`, `requestTimeout`,
 * `requestId`). It fits a route of any params, body and query, and adds
 * nothing to what Express infers for the route: the path's parameters and a
 * `validate()` mounted before or after it still type the route's handler.
 * It is also assignable to Express's `RequestHandler`.
 *
 * Annotate your own middleware with it to keep it out of a route's inference
 * too: `const requireCaller: RouteAgnosticHandler = (req: Request, res, next) => ...`.
 *
 * @example app.post('/items/:id', jwtAuth({ tokens }), validate({ params }), (req, res) => res.json(req.params));
 */
// Express infers a route's `req.params`, `req.query` and `req.body` types from
// every handler on it. `Express.Request` and `Express.Response` are the
// application-wide augmentations (`req.auth`, `req.apiKey`, ...) without those
// route-specific parts, so they give Express nothing to infer from. The method
// syntax makes the parameters bivariant: a function written for Express's
// `Request`, as bulwark's middleware are, is accepted as this type.
export type RouteAgnosticHandler = {
  handle(
    req: IncomingMessage & Express.Request,
    res: ServerResponse & Express.Response,
    next: NextFunction,
  ): void;
}['handle'];
