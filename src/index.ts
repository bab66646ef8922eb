// The public API, one group a module, each under a heading naming it.
// Only what a user calls or names in a type is here; src/internal/ and the
// modules' helpers stay private.
import './express-augment.js';

// errors: the one error hierarchy, its code catalog and the handlers that render it
export {
  BulwarkError,
  BulwarkConfigError,
  ERROR_CATALOG,
  PROBLEM_TYPE_PREFIX,
  isBulwarkConfigError,
  isBulwarkError,
} from './errors.js';
export type { BulwarkErrorCode, BulwarkErrorOptions, ProblemDocument } from './errors.js';
export { errorHandler, notFound } from './error-handler.js';
export type { ErrorHandlerOptions } from './error-handler.js';

// events: the security-event bus
export { securityEvents, SecurityEventBus, SECURITY_EVENT_TYPES } from './events.js';
export type {
  EventRedactor,
  EventSink,
  SecurityEvent,
  SecurityEventListener,
  SecurityEventType,
} from './events.js';

// config: loadConfig, productionReadiness, settings of your own
export { loadConfig } from './config/load.js';
export { productionReadiness } from './config/readiness.js';
export { jwtSecretsFromEnv, settingFromEnv } from './config/setting.js';
export type { JwtSecrets, SettingFromEnvOptions } from './config/setting.js';
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

// request: request ids, body limits, timeouts
export { requestId } from './request/request-id.js';
export type { RequestIdOptions } from './request/request-id.js';
export { bodyLimits } from './request/body-limits.js';
export type { BodyLimitsOptions } from './request/body-limits.js';
export { requestTimeout } from './request/request-timeout.js';
export type { RequestTimeoutOptions } from './request/request-timeout.js';
export { serverTimeouts } from './request/server-timeouts.js';
export type { ServerTimeouts, ServerTimeoutsOptions } from './request/server-timeouts.js';
export { serverClasses } from './request/server-classes.js';
export type { ExpressPrototypes, ServerClasses } from './request/server-classes.js';

// headers: security headers, CORS, trusted hosts, HTTPS redirect
export { securityHeaders, DEFAULT_PERMISSIONS_POLICY } from './headers/security-headers.js';
export type { SecurityHeadersOptions, SecurityHeadersProfile } from './headers/security-headers.js';
export { corsPolicy } from './headers/cors-policy.js';
export type { CorsPolicyOptions } from './headers/cors-policy.js';
export { trustedHosts } from './headers/trusted-hosts.js';
export type { TrustedHostsOptions } from './headers/trusted-hosts.js';
export { httpsRedirect } from './headers/https-redirect.js';
export type { HttpsRedirectOptions } from './headers/https-redirect.js';

// rate-limit: request limits, login limits, cost budgets
export { rateLimit } from './rate-limit/rate-limit.js';
export type { RateLimitOptions } from './rate-limit/rate-limit.js';
export { loginRateLimit } from './rate-limit/login-rate-limit.js';
export type { LoginRateLimitOptions } from './rate-limit/login-rate-limit.js';
export { costLimit } from './rate-limit/cost-limit.js';
export type { CostLimitMiddleware, CostLimitOptions } from './rate-limit/cost-limit.js';
export type { RateLimitKeyBy } from './rate-limit/keys.js';
export type { RateLimitStoreErrorMode } from './rate-limit/redis-store.js';

// validation
export { validate } from './validation/validate.js';
export type {
  ValidatedHandler,
  ValidatedPart,
  ValidatedRequest,
  ValidationSchemas,
} from './validation/validate.js';
export type { RouteAgnosticHandler } from './handler.js';
export type { ValidationIssue } from './validation/issues.js';

// paths
export { resolveWithin, resolveWithinReal } from './paths/resolve.js';
export type { RealPathOptions } from './paths/resolve.js';
export { pathGuard } from './paths/guard.js';
export type { PathGuardOptions, PathSource } from './paths/guard.js';
export { PathTraversalError } from './paths/rules.js';
export type { PathRefusalReason, PathRuleOptions } from './paths/rules.js';

// auth: passwords, tokens, API keys, roles, the auth router
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
export { authRouter } from './auth/router.js';
export type { AuthRouterOptions, UserAdapter, UserRecord } from './auth/router.js';

// stores: memory, Redis and PostgreSQL auth stores and their clients
export { memoryStore } from './stores/memory-store.js';
export type { MemoryStoreOptions } from './stores/memory-store.js';
export { redisStore } from './stores/redis-store.js';
export type { RedisStoreOptions } from './stores/redis-store.js';
export { postgresStore } from './stores/postgres-store.js';
export type { PostgresAuthStore, PostgresStoreOptions } from './stores/postgres-store.js';
export type { MigrationResult } from './stores/postgres-migrations.js';
export type {
  AuthStore,
  RefreshFamilyInit,
  RefreshFamilyRef,
  RefreshRotation,
  RefreshTokenInit,
} from './stores/auth-store.js';
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
export { RedisClusterNotConnectedError } from './stores/redis-cluster.js';
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

// redaction: redact values, text and streams; the security logger
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
export { createSecurityLogger, LOG_LEVELS, LOG_THRESHOLDS } from './redaction/logger.js';
export type {
  LogDestination,
  LogFields,
  LogLevel,
  LogThreshold,
  SecurityLogger,
  SecurityLoggerOptions,
} from './redaction/logger.js';

// crypto: secrets at rest
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

// monitoring: suspicious activity, metrics, readiness
export { suspiciousActivity } from './monitoring/suspicious-activity.js';
export type { SuspiciousActivityOptions } from './monitoring/suspicious-activity.js';
export { protectMetrics } from './monitoring/protect-metrics.js';
export type { MetricsCredentials, ProtectMetricsOptions } from './monitoring/protect-metrics.js';
export { securityMetrics } from './monitoring/security-metrics.js';
export type { SecurityMetricsOptions } from './monitoring/security-metrics.js';
export { checkStores, pingRedis, readinessRoute } from './monitoring/readiness-route.js';
export type {
  ReadinessRouteOptions,
  StoreCheck,
  StoreCheckOptions,
  StoreCheckReport,
  StoreCheckStatus,
} from './monitoring/readiness-route.js';
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

// llm: outbound guard, provider circuit breaker, output audit
export { guardOutbound } from './llm/guard-outbound.js';
export type { GuardedPayload, GuardOutboundOptions } from './llm/guard-outbound.js';
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
export { outputAudit } from './llm/output-audit.js';
export type {
  OutputAudit,
  OutputAuditOptions,
  OutputAuditRecord,
  OutputAuditUsage,
} from './llm/output-audit.js';

// preset: everything above composed
export { hardened } from './preset/hardened.js';
export type { HardenedFactory, HardenedMiddleware, HardenedOptions } from './preset/hardened.js';
