import cors from 'cors';
import express, { type Express, type RequestHandler } from 'express';
import { rateLimit as erl } from 'express-rate-limit';
import helmet from 'helmet';
import { bulwark } from './entry.js';
import { BENCH_HOSTS, BENCH_LIMIT, BENCH_MAX_BYTES, BENCH_ORIGIN, echo } from './shared.js';

const {
  corsPolicy,
  rateLimit,
  requestId,
  securityEvents,
  securityHeaders,
  trustedHosts,
  bodyLimits,
  requestTimeout,
  suspiciousActivity,
} = bulwark;

securityEvents.setSink(null);
export const parts: Record<string, () => RequestHandler> = {
  helmet: () => helmet(),
  cors: () => cors({ origin: [BENCH_ORIGIN], credentials: true }),
  erl: () =>
    erl({ windowMs: 60_000, limit: BENCH_LIMIT, standardHeaders: 'draft-8', legacyHeaders: false }),
  requestId: () => requestId(),
  trustedHosts: () => trustedHosts(BENCH_HOSTS),
  securityHeaders: () => securityHeaders(),
  corsPolicy: () => corsPolicy({ origins: [BENCH_ORIGIN], credentials: true }),
  rateLimit: () => rateLimit({ limit: BENCH_LIMIT, windowMs: 60_000 }),
  requestTimeout: () => requestTimeout(30_000),
  suspiciousActivity: () => suspiciousActivity(),
  noop: () => (_req, _res, next) => next(),
};

export function createApp(): Express {
  const app = express();
  for (const name of (process.env.LAYERS ?? '').split(',').filter((n) => n !== '')) {
    const make = parts[name];
    if (make === undefined) throw new Error(`unknown layer ${name}`);
    app.use(make());
  }
  if (process.env.LAYERS?.includes('bodyLimits'))
    app.use(bodyLimits({ maxBytes: BENCH_MAX_BYTES }));
  else app.use(express.json({ limit: BENCH_MAX_BYTES }));
  app.post('/v1/echo', echo);
  return app;
}
