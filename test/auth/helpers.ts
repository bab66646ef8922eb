import { createHmac } from 'node:crypto';
import type { Express, NextFunction, Request, Response } from 'express';
import {
  createRedisClient,
  createTokenService,
  errorHandler,
  jwtAuth,
  memoryStore,
  redisStore,
  whenRedisReady,
} from '../../src/index.js';
import type {
  AuthStore,
  BulwarkRedisClient,
  TokenService,
  TokenServiceOptions,
} from '../../src/index.js';
import { jsonApp, type ExpressFactory } from '../helpers/express.js';
import { clearSharedKeys, requireRedis, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

export const TEST_SECRET = 'test-FAKE-jwt-secret-for-bulwark-0123456789';
export const OLD_TEST_SECRET = 'test-FAKE-previous-jwt-secret-for-bulwark-0123';
export const ISSUER = 'https://issuer.example.test';
export const AUDIENCE = 'bulwark-test-api';

export type StoreKind = readonly [label: string, make: () => AuthStore];

/** Memory always; Redis (shared server, unique prefix per store) when it answers. */
export async function storeKinds(): Promise<{
  kinds: StoreKind[];
  close: () => Promise<void>;
  redis: BulwarkRedisClient | undefined;
}> {
  const kinds: StoreKind[] = [['memory', () => memoryStore()]];
  if (!(await requireRedis())) return { kinds, close: () => Promise.resolve(), redis: undefined };
  const client = createRedisClient(SHARED_REDIS_URL);
  if (!(await whenRedisReady(client)))
    throw new Error('shared Redis answered PING but the client did not connect');
  const prefixes: string[] = [];
  kinds.push([
    'redis',
    () => {
      const prefix = uniquePrefix('auth');
      prefixes.push(prefix);
      return redisStore(client, { prefix });
    },
  ]);
  return {
    kinds,
    redis: client,
    // Some records (an API key's last use, a user's revoke-all time) have no expiry.
    close: async () => {
      await clearSharedKeys(prefixes.splice(0));
      await client.quit();
    },
  };
}

export function hsTokens(store: AuthStore, extra: Partial<TokenServiceOptions> = {}): TokenService {
  return createTokenService({
    secret: TEST_SECRET,
    issuer: ISSUER,
    audience: AUDIENCE,
    store,
    ...extra,
  });
}

export function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString(
    'base64url',
  );
}

export function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

type StoreMethod = (...args: unknown[]) => Promise<unknown>;

/**
 * A store that runs `around(method, args, call)` for every call, to observe or
 * break what reaches the real store.
 */
export function interceptStore(
  inner: AuthStore,
  around: (
    method: keyof AuthStore,
    args: unknown[],
    call: () => Promise<unknown>,
  ) => Promise<unknown>,
): AuthStore {
  return new Proxy(inner, {
    get(target, property: keyof AuthStore) {
      const original = Reflect.get(target, property) as StoreMethod;
      return (...args: unknown[]) => around(property, args, () => original.apply(target, args));
    },
  });
}

/** An HMAC-signed JWT built by hand, so tests control every header and claim. */
export function hmacJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  secret: string | Buffer,
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return {
    sub: 'user-1',
    roles: ['user'],
    jti: 'jti-test-1',
    iat,
    exp: iat + 600,
    iss: ISSUER,
    aud: AUDIENCE,
    ...overrides,
  };
}

export interface ProtectedApp {
  app: Express;
  /** How many times a protected handler ran. */
  ran: () => number;
}

/**
 * `/me` behind jwtAuth, `/refresh` and `/logout` calling the service, as an
 * auth router would.
 */
export function protectedApp(factory: ExpressFactory, tokens: TokenService): ProtectedApp {
  const app = jsonApp(factory);
  let count = 0;
  app.get('/me', jwtAuth({ tokens }), (req: Request, res: Response) => {
    count++;
    res.json(req.auth);
  });
  app.post('/refresh', (req: Request, res: Response, next: NextFunction) => {
    tokens
      .refresh(String((req.body as { refresh_token?: unknown }).refresh_token), req)
      .then((pair) => res.json(pair), next);
  });
  app.post('/logout', jwtAuth({ tokens }), (req: Request, res: Response, next: NextFunction) => {
    const access = req.headers.authorization!.slice('Bearer '.length);
    const refresh = (req.body as { refresh_token?: string }).refresh_token;
    tokens.revoke(access, refresh).then(() => res.status(204).end(), next);
  });
  app.use(errorHandler());
  return { app, ran: () => count };
}

export { collect } from '../helpers/events.js';
