import { createSecretKey } from 'node:crypto';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { BENCH_AUDIENCE, BENCH_ISSUER, BENCH_LIMIT, BENCH_ORIGIN, BENCH_SECRET } from './shared.js';

// What a careful user composes by hand: the same libraries, keys imported once.
export function createApp() {
  const key = createSecretKey(Buffer.from(BENCH_SECRET));
  const schema = z.strictObject({
    message: z.string().min(1).max(2000),
    max_tokens: z.number().int().min(1).max(4096).optional(),
    temperature: z.number().min(0).max(2).optional(),
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(helmet());
  app.use(cors({ origin: [BENCH_ORIGIN], credentials: true }));
  app.use(
    rateLimit({
      windowMs: 60_000,
      limit: BENCH_LIMIT,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
    }),
  );
  app.use(express.json({ limit: 102_400 }));
  app.use((req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Bearer ')) {
      res.status(401).end();
      return;
    }
    try {
      jwt.verify(header.slice(7), key, {
        algorithms: ['HS256'],
        issuer: BENCH_ISSUER,
        audience: BENCH_AUDIENCE,
      });
      next();
    } catch {
      res.status(401).end();
    }
  });
  app.post('/v1/echo', (req, res) => {
    const parsed = schema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).end();
      return;
    }
    res.json(parsed.data);
  });
  return app;
}
