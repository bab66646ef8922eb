import './express-augment.js';

export {
  BulwarkError,
  BulwarkConfigError,
  ERROR_CATALOG,
  PROBLEM_TYPE_PREFIX,
  isBulwarkError,
} from './errors.js';
export type { BulwarkErrorCode, BulwarkErrorOptions, ProblemDocument } from './errors.js';

export { errorHandler, notFound } from './error-handler.js';
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
export { bodyLimits } from './request/body-limits.js';
export type { BodyLimitsOptions } from './request/body-limits.js';
export { requestTimeout } from './request/request-timeout.js';
export type { RequestTimeoutOptions } from './request/request-timeout.js';
export { serverTimeouts } from './request/server-timeouts.js';
export type { ServerTimeouts, ServerTimeoutsOptions } from './request/server-timeouts.js';

export { securityHeaders, DEFAULT_PERMISSIONS_POLICY } from './headers/security-headers.js';
export type { SecurityHeadersOptions, SecurityHeadersProfile } from './headers/security-headers.js';
export { corsPolicy } from './headers/cors-policy.js';
export type { CorsPolicyOptions } from './headers/cors-policy.js';
export { trustedHosts } from './headers/trusted-hosts.js';
export type { TrustedHostsOptions } from './headers/trusted-hosts.js';
export { httpsRedirect } from './headers/https-redirect.js';
export type { HttpsRedirectOptions } from './headers/https-redirect.js';

export {
  closeRedis,
  createRedisClient,
  RedisTimeoutError,
  whenRedisReady,
} from './stores/redis-client.js';
export type {
  BulwarkRedis,
  BulwarkRedisClient,
  BulwarkRedisCluster,
  RedisClientLike,
  RedisClientOptions,
  RedisClusterClientLike,
  RedisClusterNodeLike,
  RedisClusterTarget,
  RedisCommandOptions,
  RedisConnection,
  RedisNodeClientLike,
} from './stores/redis-client.js';

export { circuitBreaker } from './llm/circuit-breaker.js';
export type {
  Breaker,
  CircuitBreakerOptions,
  CircuitCacheOptions,
  CircuitCallContext,
  CircuitCallOptions,
  CircuitResult,
  CircuitState,
} from './llm/circuit-breaker.js';

export { costLimit } from './rate-limit/cost-limit.js';
export type { CostLimitMiddleware, CostLimitOptions } from './rate-limit/cost-limit.js';
export { createSecretBox } from './crypto/secret-box.js';
export type {
  SealOptions,
  SecretBox,
  SecretBoxKeyEntry,
  SecretBoxKeyMaterial,
  SecretBoxOptions,
} from './crypto/secret-box.js';
export { resealAll } from './crypto/reseal.js';
export type { ResealAllOptions, ResealItem, ResealReport } from './crypto/reseal.js';

export { suspiciousActivity } from './monitoring/suspicious-activity.js';
export type { SuspiciousActivityOptions } from './monitoring/suspicious-activity.js';
export { protectMetrics } from './monitoring/protect-metrics.js';
export type { MetricsCredentials, ProtectMetricsOptions } from './monitoring/protect-metrics.js';
export { securityMetrics } from './monitoring/security-metrics.js';
export { checkStores, pingRedis, readinessRoute } from './monitoring/readiness-route.js';
export type {
  ReadinessRouteOptions,
  StoreCheck,
  StoreCheckOptions,
  StoreCheckReport,
  StoreCheckStatus,
} from './monitoring/readiness-route.js';
export type { SecurityMetricsOptions } from './monitoring/security-metrics.js';
export { openTelemetryEvents, SECURITY_EVENTS_COUNTER } from './monitoring/open-telemetry.js';
export type {
  OpenTelemetryEventsOptions,
  TelemetryAttributes,
  TelemetryAttributeValue,
  TelemetryCounter,
  TelemetryMeter,
  TelemetrySpan,
  TelemetryTrace,
} from './monitoring/open-telemetry.js';
export { validate } from './validation/validate.js';
export type { ValidatedHandler, ValidatedPart, ValidationSchemas } from './validation/validate.js';
export type { ValidationIssue } from './validation/issues.js';

export { resolveWithin, resolveWithinReal } from './paths/resolve.js';
export type { RealPathOptions } from './paths/resolve.js';
export { pathGuard } from './paths/guard.js';
export type { PathGuardOptions, PathSource } from './paths/guard.js';
export { PathTraversalError } from './paths/rules.js';
export type { PathRefusalReason, PathRuleOptions } from './paths/rules.js';
export { loadConfig } from './config/load.js';
export { settingFromEnv } from './config/setting.js';
export type { SettingFromEnvOptions } from './config/setting.js';
export { productionReadiness } from './config/readiness.js';
export { CONFIG_VARIABLES } from './config/variables.js';
export type { ConfigLogLevel, ConfigVariable } from './config/variables.js';
export type {
  BulwarkConfig,
  CircuitBreakerConfig,
  ConfigValues,
  EncryptionConfig,
  JwtConfig,
  LlmConfig,
  LoadConfigOptions,
  MetricsConfig,
  ProductionReadinessOptions,
  RateLimitConfig,
  ReadinessCheck,
  ReadinessCheckId,
  ReadinessStatus,
} from './config/types.js';
export { rateLimit } from './rate-limit/rate-limit.js';
export type { RateLimitOptions } from './rate-limit/rate-limit.js';
export { loginRateLimit } from './rate-limit/login-rate-limit.js';
export type { LoginRateLimitOptions } from './rate-limit/login-rate-limit.js';
export type { LimiterBaseOptions } from './rate-limit/limiter.js';
export type { RateLimitKeyBy } from './rate-limit/keys.js';
export type { RateLimitStoreErrorMode } from './rate-limit/redis-store.js';
export {
  hashPassword,
  verifyPassword,
  verifyPasswordOrDummy,
  passwordNeedsRehash,
  checkPasswordPolicy,
  createPasswordPolicy,
  createPasswordQueue,
} from './auth/passwords.js';
export type {
  HashPasswordOptions,
  PasswordQueue,
  PasswordQueueOptions,
  QueueOption,
  VerifyPasswordOrDummyOptions,
  PasswordPolicy,
  PasswordPolicyRules,
  PasswordPolicyContext,
  PasswordPolicyCheck,
  PasswordPolicyResult,
  PasswordProblem,
  PasswordProblemCode,
} from './auth/passwords.js';
export { createRedactor, redact, redactText, redactWithReport } from './redaction/redact.js';
export type {
  RedactOptions,
  RedactionPattern,
  RedactionReport,
  Redactor,
} from './redaction/redact.js';
export { createStreamRedactor, redactionTransform } from './redaction/stream.js';
export type { StreamRedactor } from './redaction/stream.js';
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
export { memoryStore } from './stores/memory-store.js';
export type { MemoryStoreOptions } from './stores/memory-store.js';
export { redisStore } from './stores/redis-store.js';
export type { RedisStoreOptions } from './stores/redis-store.js';
export { postgresStore } from './stores/postgres-store.js';
export type { PostgresAuthStore, PostgresStoreOptions } from './stores/postgres-store.js';
export type { MigrationResult } from './stores/postgres-migrations.js';
export {
  createPostgresPool,
  pingPostgres,
  PostgresTimeoutError,
} from './stores/postgres-client.js';
export type {
  BulwarkPostgresPool,
  PostgresPoolClient,
  PostgresPoolLike,
  PostgresPoolOptions,
  PostgresQuery,
  PostgresQueryable,
  PostgresResult,
} from './stores/postgres-client.js';
export type {
  AuthStore,
  RefreshFamilyInit,
  RefreshFamilyRef,
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

export { guardOutbound } from './llm/guard-outbound.js';
export type { GuardedPayload, GuardOutboundOptions } from './llm/guard-outbound.js';
export { outputAudit } from './llm/output-audit.js';
export type {
  OutputAudit,
  OutputAuditOptions,
  OutputAuditRecord,
  OutputAuditUsage,
} from './llm/output-audit.js';

export { hardened } from './preset/hardened.js';
export type { HardenedFactory, HardenedMiddleware, HardenedOptions } from './preset/hardened.js';
export { authRouter } from './auth/router.js';
export type { AuthRouterOptions, UserAdapter, UserRecord } from './auth/router.js';
