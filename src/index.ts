import './express-augment.js';

export {
  BulwarkError,
  BulwarkConfigError,
  ERROR_CATALOG,
  PROBLEM_TYPE_PREFIX,
  isBulwarkError,
} from './errors.js';
export type { BulwarkErrorCode, BulwarkErrorOptions, ProblemDocument } from './errors.js';

export { errorHandler } from './error-handler.js';
export type { ErrorHandlerOptions } from './error-handler.js';

export { securityEvents, SecurityEventBus, SECURITY_EVENT_TYPES } from './events.js';
export type {
  EventRedactor,
  EventSink,
  SecurityEvent,
  SecurityEventListener,
  SecurityEventType,
} from './events.js';

export { requestId } from './request/request-id.js';
export type { RequestIdOptions } from './request/request-id.js';

export { createRedisClient } from './stores/redis-client.js';
export type {
  BulwarkRedisClient,
  RedisClientLike,
  RedisClientOptions,
} from './stores/redis-client.js';

export { memoryStore } from './stores/memory-store.js';
export type { MemoryStoreOptions } from './stores/memory-store.js';
export { redisStore } from './stores/redis-store.js';
export type { RedisStoreOptions } from './stores/redis-store.js';
export type {
  AuthStore,
  RefreshFamilyInit,
  RefreshRotation,
  RefreshTokenInit,
} from './stores/auth-store.js';

export { createTokenService, MAX_TOKEN_LENGTH } from './auth/tokens.js';
export type {
  AccessClaims,
  TokenPair,
  TokenService,
  TokenServiceOptions,
  TokenSubject,
} from './auth/tokens.js';
export { TOKEN_ALGORITHMS } from './auth/keys.js';
export type { TokenAlgorithm, TokenKey } from './auth/keys.js';
export { jwtAuth } from './auth/jwt-auth.js';
export type { JwtAuthOptions } from './auth/jwt-auth.js';
export { requireRole, requireScope } from './auth/roles.js';
export { apiKeyAuth, createApiKeyService } from './auth/api-keys.js';
export type {
  ApiKeyAuthOptions,
  ApiKeyIdentity,
  ApiKeyInfo,
  ApiKeyIssueOptions,
  ApiKeyService,
  ApiKeyServiceOptions,
  IssuedApiKey,
} from './auth/api-keys.js';
