import type { AccessClaims } from './auth/tokens.js';
import type { ApiKeyIdentity } from './auth/api-keys.js';

declare global {
  // Express's own types are extended through this namespace.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `requestId()`: the request's correlation id. */
      requestId?: string;
      /** Set by `pathGuard()`: the real absolute path, checked to be inside its root. */
      safePath?: string;
      /** Set by `jwtAuth()`: the verified access-token claims. */
      auth?: AccessClaims;
      /** Set by `apiKeyAuth()`: the key that authenticated the request. */
      apiKey?: ApiKeyIdentity;
    }
  }
}

export {};
