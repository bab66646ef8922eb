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

export { createRedisClient, whenRedisReady } from './stores/redis-client.js';
export type {
  BulwarkRedisClient,
  RedisClientLike,
  RedisClientOptions,
} from './stores/redis-client.js';

export { circuitBreaker } from './llm/circuit-breaker.js';
export type {
  Breaker,
  CircuitBreakerOptions,
  CircuitCacheOptions,
  CircuitCallContext,
  CircuitResult,
  CircuitState,
} from './llm/circuit-breaker.js';

export { costLimit } from './rate-limit/cost-limit.js';
export type {
  CostLimitMiddleware,
  CostLimitOptions,
  StoreErrorMode,
} from './rate-limit/cost-limit.js';
export type { KeyBy } from './internal/key-by.js';
