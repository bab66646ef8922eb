import { createTokenService, memoryStore } from '../src/index.js';
import { BENCH_AUDIENCE, BENCH_ISSUER, BENCH_SECRET } from './apps/shared.js';

/**
 * The one access token the request-path benches send: issued with the
 * bench's fake secret, issuer and audience, which every app verifies. It lives
 * an hour, so a long run never sees it expire.
 */
export async function benchAccessToken(): Promise<string> {
  const tokens = createTokenService({
    secret: BENCH_SECRET,
    issuer: BENCH_ISSUER,
    audience: BENCH_AUDIENCE,
    accessTtlSeconds: 3600,
    store: memoryStore(),
  });
  return (await tokens.issue({ sub: 'bench-user' })).access_token;
}
