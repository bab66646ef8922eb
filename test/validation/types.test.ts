import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import type { ParsedQs } from 'qs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as z from 'zod';
import type { RouteAgnosticHandler } from '../../src/handler.js';
import { apiKeyAuth, createApiKeyService, type ApiKeyIdentity } from '../../src/auth/api-keys.js';
import { jwtAuth } from '../../src/auth/jwt-auth.js';
import { requireRole, requireScope } from '../../src/auth/roles.js';
import { createTokenService, type AccessClaims } from '../../src/auth/tokens.js';
import { protectMetrics } from '../../src/monitoring/protect-metrics.js';
import { pathGuard } from '../../src/paths/guard.js';
import { costLimit } from '../../src/rate-limit/cost-limit.js';
import { loginRateLimit } from '../../src/rate-limit/login-rate-limit.js';
import { rateLimit } from '../../src/rate-limit/rate-limit.js';
import { bodyLimits } from '../../src/request/body-limits.js';
import { requestId } from '../../src/request/request-id.js';
import { requestTimeout } from '../../src/request/request-timeout.js';
import { memoryStore } from '../../src/stores/memory-store.js';
import { validate } from '../../src/validation/validate.js';

// Compile-time checks: `npm run typecheck` fails when a route's types are lost
// or a wrong use compiles (`@ts-expect-error` then has nothing to expect).
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
  const router = express.Router();

  it('survive middleware mounted before or after validate()', () => {
    app.post('/items/:id', validate(schemas), (req, res) => {
      expectTypeOf(req.params).toEqualTypeOf<Parsed['params']>();
      expectTypeOf(req.query).toEqualTypeOf<Parsed['query']>();
      expectTypeOf(req.body).toEqualTypeOf<Parsed['body']>();
      res.end();
    });
    app.post('/items/:id', jwtAuth({ tokens }), validate(schemas), (req, res) => {
      expectTypeOf(req.params).toEqualTypeOf<Parsed['params']>();
      expectTypeOf(req.query).toEqualTypeOf<Parsed['query']>();
      expectTypeOf(req.body).toEqualTypeOf<Parsed['body']>();
      expectTypeOf(req.auth).toEqualTypeOf<AccessClaims | undefined>();
      res.end();
    });
    app.post('/items/:id', validate(schemas), jwtAuth({ tokens }), (req, res) => {
      expectTypeOf(req.params).toEqualTypeOf<Parsed['params']>();
      expectTypeOf(req.query).toEqualTypeOf<Parsed['query']>();
      expectTypeOf(req.body).toEqualTypeOf<Parsed['body']>();
      res.end();
    });
    app.post(
      '/items/:id',
      apiKeyAuth({ keys }),
      requireScope('write'),
      validate(schemas),
      (req, res) => {
        expectTypeOf(req.params).toEqualTypeOf<Parsed['params']>();
        expectTypeOf(req.query).toEqualTypeOf<Parsed['query']>();
        expectTypeOf(req.body).toEqualTypeOf<Parsed['body']>();
        expectTypeOf(req.apiKey).toEqualTypeOf<ApiKeyIdentity | undefined>();
        res.end();
      },
    );
    app.put(
      '/items/:id',
      jwtAuth({ tokens }),
      requireRole('admin'),
      validate(schemas),
      (req, res) => {
        expectTypeOf<Pick<typeof req, keyof Parsed>>().toEqualTypeOf<Parsed>();
        res.end();
      },
    );
    app.patch(
      '/items/:id',
      protectMetrics({ allowIps: ['127.0.0.1'] }),
      pathGuard({ root: '.', from: 'param:id' }),
      validate(schemas),
      (req, res) => {
        expectTypeOf<Pick<typeof req, keyof Parsed>>().toEqualTypeOf<Parsed>();
        res.end();
      },
    );
    app.post(
      '/items/:id',
      requestId(),
      rateLimit({ limit: 10 }),
      loginRateLimit(),
      bodyLimits(),
      requestTimeout(5_000),
      validate(schemas),
      (req, res) => {
        expectTypeOf<Pick<typeof req, keyof Parsed>>().toEqualTypeOf<Parsed>();
        res.end();
      },
    );
    const budget = costLimit({ cost: () => 1, budget: 100 });
    app.post('/items/:id', jwtAuth({ tokens }), budget, validate(schemas), (req, res) => {
      expectTypeOf<Pick<typeof req, keyof Parsed>>().toEqualTypeOf<Parsed>();
      void budget.settle(req, 1);
      res.end();
    });
    router.post('/items/:id', jwtAuth({ tokens }), validate(schemas), (req, res) => {
      expectTypeOf<Pick<typeof req, keyof Parsed>>().toEqualTypeOf<Parsed>();
      res.end();
    });
    app.route('/items/:id').post(jwtAuth({ tokens }), validate(schemas), (req, res) => {
      expectTypeOf<Pick<typeof req, keyof Parsed>>().toEqualTypeOf<Parsed>();
      res.end();
    });
    expect(app).toBeTypeOf('function');
  });

  it('type only the validated parts: the others keep the route types, the body stays unknown', () => {
    app.get('/items/:id', jwtAuth({ tokens }), validate({ query: schemas.query }), (req, res) => {
      expectTypeOf(req.params).toEqualTypeOf<{ id: string }>();
      expectTypeOf(req.query).toEqualTypeOf<Parsed['query']>();
      expectTypeOf(req.body).toBeUnknown();
      res.end();
    });
    app.post('/notes', validate({ body: schemas.body }), jwtAuth({ tokens }), (req, res) => {
      expectTypeOf(req.query).toEqualTypeOf<ParsedQs>();
      expectTypeOf(req.body).toEqualTypeOf<Parsed['body']>();
      res.end();
    });
  });

  it("is assignable to an Express RequestHandler of the schemas' types", () => {
    const typed: RequestHandler<Parsed['params'], unknown, Parsed['body'], Parsed['query']> =
      validate(schemas);
    const bodyOnly: RequestHandler = validate({ body: schemas.body });
    app.post('/typed/:id', typed, (req, res) => {
      expectTypeOf(req.params).toEqualTypeOf<Parsed['params']>();
      res.end();
    });
    app.post('/notes', bodyOnly);
  });

  it('reject a handler that reads what the schemas do not produce', () => {
    app.post('/items/:id', jwtAuth({ tokens }), validate(schemas), (req, res) => {
      // @ts-expect-error -- `id` is a number after the schema's transform
      res.json(req.params.id.toUpperCase());
    });
    app.post('/items/:id', jwtAuth({ tokens }), validate(schemas), (req, res) => {
      // @ts-expect-error -- the body schema has no `nope`
      res.json(req.body.nope);
    });
    app.post(
      '/items/:id',
      jwtAuth({ tokens }),
      validate(schemas),
      // @ts-expect-error -- the handler asks for string params; the schema makes a number
      (req: Request<{ id: string }>, res: Response) => {
        res.json(req.params.id);
      },
    );
  });
});

describe('route-agnostic middleware', () => {
  const app = express();
  const router = express.Router();

  it('leaves an authenticated route the path parameters and the claims', () => {
    app.get('/users/:name', jwtAuth({ tokens }), requireRole('admin'), (req, res) => {
      expectTypeOf(req.params).toEqualTypeOf<{ name: string }>();
      expectTypeOf(req.query).toEqualTypeOf<ParsedQs>();
      expectTypeOf(req.auth).toEqualTypeOf<AccessClaims | undefined>();
      res.json({ sub: req.auth?.sub, name: req.params.name });
    });
    app.get('/keys/:id', apiKeyAuth({ keys }), (req, res) => {
      expectTypeOf(req.params).toEqualTypeOf<{ id: string }>();
      res.json({ id: req.apiKey?.id });
    });
  });

  it('mounts with app.use and router.use', () => {
    app.use(jwtAuth({ tokens, credentialsRequired: false }));
    app.use('/admin', jwtAuth({ tokens }), requireRole('admin'));
    router.use(apiKeyAuth({ keys }), requireScope('read'));
    app.use('/v1', router);
  });

  it("is assignable to Express's RequestHandler", () => {
    const handler: RequestHandler = jwtAuth({ tokens });
    const chain: RequestHandler[] = [apiKeyAuth({ keys }), requireScope('read')];
    const plain: RequestHandler = (req: Request, res) => {
      res.json({ id: req.params.id, query: req.query });
    };
    app.get('/things/:id', handler, ...chain, plain);
    const typed: RequestHandler<{ id: string }> = (req, res) => {
      res.json(req.params.id);
    };
    app.get('/typed/:id', jwtAuth({ tokens }), typed);
  });

  it('types an application middleware the same way when annotated', () => {
    const requireCaller: RouteAgnosticHandler = (
      req: Request,
      _res: Response,
      next: NextFunction,
    ) => {
      next(req.auth === undefined ? new Error('unauthenticated') : undefined);
    };
    app.post('/items/:id', requireCaller, validate(schemas), (req, res) => {
      expectTypeOf<Pick<typeof req, keyof Parsed>>().toEqualTypeOf<Parsed>();
      res.end();
    });
  });

  it("takes Express's request and response, and nothing less", () => {
    type Middleware = ReturnType<typeof jwtAuth>;
    expectTypeOf<Request>().toExtend<Parameters<Middleware>[0]>();
    expectTypeOf<Response>().toExtend<Parameters<Middleware>[1]>();
    expectTypeOf<Parameters<Middleware>[2]>().toEqualTypeOf<NextFunction>();
    // @ts-expect-error -- an object with headers is not an HTTP request
    expectTypeOf<{ headers: Record<string, string> }>().toExtend<Parameters<Middleware>[0]>();
  });
});
