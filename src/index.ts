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

export { createRedactor, redact, redactText, redactWithReport } from './redaction/redact.js';
export type {
  RedactOptions,
  RedactionPattern,
  RedactionReport,
  Redactor,
} from './redaction/redact.js';
export { REDACTION_CATEGORIES } from './redaction/categories.js';
export type {
  CategorySelection,
  RedactionCategory,
  RedactionCounts,
} from './redaction/categories.js';
export { prepareLogsForLLM } from './redaction/logs.js';
export type { PrepareLogsOptions, PreparedLogs } from './redaction/logs.js';
export { createSecurityLogger, LOG_LEVELS, SECURITY_REDACTION } from './redaction/logger.js';
export type {
  LogDestination,
  LogFields,
  LogLevel,
  SecurityLogger,
  SecurityLoggerOptions,
} from './redaction/logger.js';
