import type { RequestHandler } from 'express';
import request from 'supertest';
import { expect } from 'vitest';
import type { ExpressFactory } from './express.js';

export interface CheckRequest {
  /** Request headers to send. */
  headers?: Record<string, string>;
  /** Runs between the middleware and the route, e.g. to play an auth middleware. */
  before?: RequestHandler;
  /** The route's own work before it answers. */
  route?: RequestHandler;
}

/**
 * helmet's test helper, over real HTTP: mounts `middleware` on a fresh app and
 * asserts each expected response header (`null` = must be absent). Returns the
 * response for further checks.
 */
export async function check(
  factory: ExpressFactory,
  middleware: RequestHandler,
  expected: Record<string, string | null>,
  options: CheckRequest = {},
): Promise<request.Response> {
  const app = factory();
  app.use(middleware);
  if (options.before !== undefined) app.use(options.before);
  app.get('/', (req, res, next) => {
    if (options.route !== undefined) options.route(req, res, next);
    if (!res.headersSent) res.json({ ok: true });
  });
  let call = request(app).get('/');
  for (const [name, value] of Object.entries(options.headers ?? {})) call = call.set(name, value);
  const res = await call;
  expect(res.status).toBe(200);
  for (const [name, value] of Object.entries(expected)) {
    if (value === null) expect(res.headers[name.toLowerCase()], name).toBeUndefined();
    else expect(res.headers[name.toLowerCase()], name).toBe(value);
  }
  return res;
}
