import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { costLimit, rateLimit } from '../../src/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express.js';

// Several limiters on one route (the preset's rateLimit, then costLimit) answer
// one IETF RateLimit / RateLimit-Policy list with an item per policy.
// express-rate-limit writes its item with spaces and a partition key (`pk`).
const POLICY = /^"5-in-60s"; q=5; w=60; pk=:[^:]+:, "cost";q=15;w=3600$/;

describe.each(EXPRESS_VERSIONS)(
  'RateLimit fields with several limiters on %s',
  (_name, factory) => {
    function build() {
      const app = factory();
      let ran = 0;
      app.use(express.json());
      app.post(
        '/v1/complete',
        rateLimit({ limit: 5, windowMs: 60_000, keyBy: () => 'client' }),
        costLimit({ cost: () => 10, budget: 15, windowMs: 3_600_000, keyBy: () => 'client' }),
        (_req, res) => {
          ran++;
          res.json({ ok: true });
        },
      );
      return { app, ran: () => ran };
    }

    it('lists both policies in each field', async () => {
      const { app } = build();
      const res = await request(app).post('/v1/complete').send({});
      expect(res.status).toBe(200);
      expect(res.headers['ratelimit-policy']).toMatch(POLICY);
      expect(res.headers.ratelimit).toMatch(
        /^"5-in-60s"; r=4; t=\d+(; pk=:[^:]+:)?, "cost";r=5;t=\d+$/,
      );
    });

    it('keeps both on a 429 from the second limiter, and the handler does not run', async () => {
      const { app, ran } = build();
      await request(app).post('/v1/complete').send({});
      const res = await request(app).post('/v1/complete').send({});
      expect(res.status).toBe(429);
      expect(res.body.code).toBe('rate_limit.budget_exceeded');
      expect(ran()).toBe(1);
      expect(res.headers['ratelimit-policy']).toMatch(POLICY);
      expect(res.headers.ratelimit).toMatch(
        /^"5-in-60s"; r=3; t=\d+(; pk=:[^:]+:)?, "cost";r=5;t=\d+$/,
      );
    });
  },
);
