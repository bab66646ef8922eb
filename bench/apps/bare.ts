import express, { type Express } from 'express';
import { BENCH_MAX_BYTES, echo } from './shared.js';

export function createApp(): Express {
  const app = express();
  app.use(express.json({ limit: BENCH_MAX_BYTES }));
  app.post('/v1/echo', echo);
  return app;
}
