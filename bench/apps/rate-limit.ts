import express, { type Express } from 'express';
import { bulwark } from './entry.js';
import { BENCH_LIMIT, BENCH_MAX_BYTES, echo } from './shared.js';

const { rateLimit, securityEvents } = bulwark;

// The bench server runs with NODE_ENV=production, where a memory store earns a one-time warning.
securityEvents.setSink(null);

/** bulwark's rateLimit() alone, counting in memory: the counterpart of express-rate-limit alone. */
export function createApp(): Express {
  const app = express();
  app.use(rateLimit({ limit: BENCH_LIMIT, windowMs: 60_000 }));
  app.use(express.json({ limit: BENCH_MAX_BYTES }));
  app.post('/v1/echo', echo);
  return app;
}
