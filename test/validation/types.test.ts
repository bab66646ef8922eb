import express, { type Request, type RequestHandler } from 'express';
import { describe, expectTypeOf, it } from 'vitest';
import * as z from 'zod';
import { apiKeyAuth, createApiKeyService } from '../../src/auth/api-keys.js';
import { jwtAuth } from '../../src/auth/jwt-auth.js';
import { requireRole, requireScope } from '../../src/auth/roles.js';
import { createTokenService } from '../../src/auth/tokens.js';
import { memoryStore } from '../../src/stores/memory-store.js';
import { validate } from '../../src/validation/validate.js';

// Compile-time checks: `npm run typecheck` fails when a route's types are lost.
// The routes are only declared, never served.
const store = memoryStore();
const tokens = createTokenService({
  secret: 'types-FAKE-jwt-secret-0123456789abcdef',
  issuer: 'types',
  audience: 'types',
  store,
});
const keys = createApiKeyService({ store });
const schemas = {
  params: z.strictObject({ id: z.string().regex(/^\d+$/).transform(Number) }),
  query: z.strictObject({ verbose: z.stringbool().optional() }),
  body: z.strictObject({ message: z.string() }),
};
interface Parsed {
  params: { id: number };
  query: { verbose?: boolean | undefined };
  body: { message: string };
}

describe('validate() output types on the route handler', () => {
  const app = express();

  it('survive with authentication mounted on the path', () => {
    app.use('/items', jwtAuth({ tokens }), requireRole('admin'));
    app.post('/items/:id', validate(schemas), (req, res) => {
      expectTypeOf(req.params).toEqualTypeOf<Parsed['params']>();
      expectTypeOf(req.query).toEqualTypeOf<Parsed['query']>();
      expectTypeOf(req.body).toEqualTypeOf<Parsed['body']>();
      res.end();
    });
  });

  it('accept plain Express handlers after them', () => {
    const handler: RequestHandler = (req: Request, res) => {
      res.json({ id: req.params.id, query: req.query });
    };
    app.get('/things/:id', jwtAuth({ tokens }), requireRole('admin'), handler);
    app.use('/keys', apiKeyAuth({ keys }), requireScope('read'), handler);
    app.use(jwtAuth({ tokens, credentialsRequired: false }));
  });
});
