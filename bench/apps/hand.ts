import { createSecretKey, type KeyObject } from 'node:crypto';
import cors from 'cors';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import {
  BENCH_AUDIENCE,
  BENCH_ISSUER,
  BENCH_LIMIT,
  BENCH_MAX_BYTES,
  BENCH_ORIGIN,
  BENCH_SECRET,
  echo,
} from './shared.js';

// What a careful user composes by hand from the same libraries bulwark wraps.

const limiter = () =>
  rateLimit({
    windowMs: 60_000,
    limit: BENCH_LIMIT,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
  });

/** helmet + cors + express-rate-limit, each configured as its documentation suggests. */
function trafficControls(): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(helmet());
  app.use(cors({ origin: [BENCH_ORIGIN], credentials: true }));
  app.use(limiter());
  return app;
}

/** Rate limiting alone: the floor under any stack that counts requests with express-rate-limit. */
export function createRateLimitApp(): Express {
  const app = express();
  app.use(limiter());
  app.use(express.json({ limit: BENCH_MAX_BYTES }));
  app.post('/v1/echo', echo);
  return app;
}

/** The traffic controls alone, in front of the bare echo route. */
export function createTrafficApp(): Express {
  const app = trafficControls();
  app.use(express.json({ limit: BENCH_MAX_BYTES }));
  app.post('/v1/echo', echo);
  return app;
}

function fullStack(key: KeyObject | string): Express {
  const schema = z.strictObject({
    message: z.string().min(1).max(2000),
    max_tokens: z.number().int().min(1).max(4096).optional(),
    temperature: z.number().min(0).max(2).optional(),
  });
  const app = trafficControls();
  app.use(express.json({ limit: BENCH_MAX_BYTES }));
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

/** The full stack with the HMAC key imported once, as a `KeyObject`. */
export function createApp(): Express {
  return fullStack(createSecretKey(Buffer.from(BENCH_SECRET)));
}

/** The same, with the secret passed to jsonwebtoken as a string, as most examples do. */
export function createStringSecretApp(): Express {
  return fullStack(BENCH_SECRET);
}
