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

export { createRedisClient, RedisTimeoutError } from './stores/redis-client.js';
export type {
  BulwarkRedisClient,
  RedisClientLike,
  RedisClientOptions,
} from './stores/redis-client.js';

export { rateLimit } from './rate-limit/rate-limit.js';
export type { RateLimitOptions } from './rate-limit/rate-limit.js';
export { loginRateLimit } from './rate-limit/login-rate-limit.js';
export type { LoginRateLimitOptions } from './rate-limit/login-rate-limit.js';
export type { LimiterBaseOptions } from './rate-limit/limiter.js';
export type { RateLimitKeyBy } from './rate-limit/keys.js';
export type { RateLimitStoreErrorMode } from './rate-limit/redis-store.js';
