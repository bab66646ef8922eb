/**
 * The token service, in parts: options (`tokens/options.ts`), access-token
 * verification (`tokens/verify.ts`) and the service itself (`tokens/service.ts`).
 */
export { createTokenService, serviceUsernameKey } from './tokens/service.js';
export type { TokenPair, TokenService, TokenSubject } from './tokens/service.js';
export type { TokenServiceOptions } from './tokens/options.js';
export { MAX_TOKEN_LENGTH } from './tokens/verify.js';
export type { AccessClaims } from './tokens/verify.js';
