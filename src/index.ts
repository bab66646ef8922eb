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

export {
  hashPassword,
  verifyPassword,
  verifyPasswordOrDummy,
  passwordNeedsRehash,
  checkPasswordPolicy,
  createPasswordPolicy,
} from './auth/passwords.js';
export type {
  HashPasswordOptions,
  VerifyPasswordOrDummyOptions,
  PasswordPolicy,
  PasswordPolicyRules,
  PasswordPolicyContext,
  PasswordPolicyCheck,
  PasswordPolicyResult,
  PasswordProblem,
  PasswordProblemCode,
} from './auth/passwords.js';
