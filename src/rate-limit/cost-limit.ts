import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { asyncMiddleware } from '../internal/async.js';
import { currentEnvironment, isProduction } from '../internal/env.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { sendProblem } from '../internal/problem.js';
import { isRedisClient, type RedisClientLike } from '../stores/redis-client.js';
import { redisScript, runScript } from '../stores/redis-script.js';
import { appendRateLimitItem } from './headers.js';
import { keyGenerator, type RateLimitKeyBy } from './keys.js';
import type { RateLimitStoreErrorMode } from './redis-store.js';

export interface CostLimitOptions {
  /** What a request spends, e.g. its validated `max_tokens`. A whole number >= 0. */
  cost: (req: Request) => number;
  /** What each key may spend per window. */
  budget: number;
  /** Window length in ms. @default 60_000 */
  windowMs?: number;
  /** Who pays. @default 'apiKey' (falls back to the IP) */
  keyBy?: RateLimitKeyBy;
  /** @default 'memory' */
  store?: 'memory' | RedisClientLike;
  /** Redis key prefix. @default 'bulwark:cost:' */
  prefix?: string;
  /** What to do when Redis fails. @default 'fail-closed' */
  onStoreError?: RateLimitStoreErrorMode;
  /** Memory store cap (keys); the oldest window goes first. @default 10_000 */
  maxKeys?: number;
  /** `production` refuses `memory-fallback`. @default ENVIRONMENT or NODE_ENV */
  env?: string;
}

/** The middleware, plus the step that corrects a charge once real usage is known. */
export interface CostLimitMiddleware extends RequestHandler {
  /**
   * Replaces the request's charge with what it really cost. A larger actual
   * cost is charged in full even past the budget (the tokens were spent); a
   * smaller one is refunded. No-op for requests this limiter did not charge,
   * and after the window has rolled over. A store error is reported as an
   * event, never thrown: the provider call it corrects has already succeeded.
   */
  settle(req: Request, actual: number): Promise<void>;
}

const KNOWN: KnownKeys<CostLimitOptions> = {
  cost: true,
  budget: true,
  windowMs: true,
  keyBy: true,
  store: true,
  prefix: true,
  onStoreError: true,
  maxKeys: true,
  env: true,
};

const MODES = ['fail-closed', 'fail-open', 'memory-fallback'] as const;

interface Charge {
  readonly allowed: boolean;
  readonly used: number;
  readonly resetMs: number;
}

interface BudgetStore {
  charge(key: string, cost: number): Promise<Charge>;
  adjust(key: string, delta: number): Promise<void>;
}

// Charge only what fits: a refused request spends nothing, so a flood of
// oversized requests cannot drain a key's budget.
const CHARGE = redisScript(`
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost = tonumber(ARGV[1])
if used + cost > tonumber(ARGV[2]) then
  return {0, used, redis.call('PTTL', KEYS[1])}
end
used = redis.call('INCRBY', KEYS[1], cost)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  ttl = tonumber(ARGV[3])
end
return {1, used, ttl}
`);

const ADJUST = redisScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('INCRBY', KEYS[1], ARGV[1]) < 0 then
  redis.call('SET', KEYS[1], '0', 'KEEPTTL')
end
return 1
`);

function redisBudget(
  client: RedisClientLike,
  prefix: string,
  budget: number,
  windowMs: number,
): BudgetStore {
  return {
    async charge(key, cost) {
      const reply = await runScript(
        client,
        CHARGE,
        [prefix + key],
        [String(cost), String(budget), String(windowMs)],
      );
      if (!Array.isArray(reply) || reply.length !== 3) throw new Error('unexpected Redis reply');
      const [allowed, used, ttl] = reply.map(Number) as [number, number, number];
      return { allowed: allowed === 1, used, resetMs: ttl > 0 ? ttl : windowMs };
    },
    async adjust(key, delta) {
      await runScript(client, ADJUST, [prefix + key], [String(delta)]);
    },
  };
}

function memoryBudget(budget: number, windowMs: number, maxKeys: number): BudgetStore {
  const windows = new Map<string, { used: number; resetAt: number }>();
  const current = (key: string, now: number) => {
    const entry = windows.get(key);
    if (entry === undefined || entry.resetAt <= now) {
      windows.delete(key);
      return undefined;
    }
    return entry;
  };
  return {
    charge(key, cost) {
      const now = Date.now();
      let entry = current(key, now);
      if (entry === undefined) {
        entry = { used: 0, resetAt: now + windowMs };
        windows.set(key, entry);
        // Insertion order is window-start order, so the first key is the oldest.
        while (windows.size > maxKeys) {
          const oldest = windows.keys().next();
          if (oldest.done === true) break;
          windows.delete(oldest.value);
        }
      }
      const allowed = entry.used + cost <= budget;
      if (allowed) entry.used += cost;
      return Promise.resolve({ allowed, used: entry.used, resetMs: entry.resetAt - now });
    },
    adjust(key, delta) {
      const entry = current(key, Date.now());
      if (entry !== undefined) entry.used = Math.max(0, entry.used + delta);
      return Promise.resolve();
    },
  };
}

function isCost(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * A budget per key per window where each request spends its own cost (for
 * example `max_tokens`), corrected afterwards with `settle(req, actual)`.
 * Charges are atomic in Redis (one script, one round trip), so replicas
 * never overspend a shared budget.
 *
 * @param options.cost what a request spends (whole number >= 0)
 * @param options.budget what a key may spend per window
 * @param [options.windowMs=60000]
 * @param [options.keyBy='apiKey']
 * @param [options.onStoreError='fail-closed']
 * @example
 * const tokens = costLimit({ cost: (req) => req.body.max_tokens, budget: 100_000, windowMs: 3_600_000 });
 * app.post('/v1/complete', validate({ body }), tokens, async (req, res) => {
 *   const answer = await provider.complete(req.body);
 *   await tokens.settle(req, answer.usage.total_tokens);
 *   res.json(answer);
 * });
 */
export function costLimit(options: CostLimitOptions): CostLimitMiddleware {
  const check = new OptionChecker('costLimit', options, KNOWN);
  const cost = check.func<(req: Request) => number>('cost');
  if (cost === undefined) check.problem('`cost` is required: a function of the request');
  const budget = check.number('budget', {
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    integer: true,
    default: undefined,
  });
  if (budget === undefined) check.problem('`budget` is required');
  const windowMs = check.number('windowMs', {
    min: 1000,
    max: 30 * 86_400_000,
    integer: true,
    default: 60_000,
  });
  const keyByRaw = check.raw('keyBy') ?? 'apiKey';
  if (typeof keyByRaw !== 'function' && !['ip', 'apiKey', 'user'].includes(keyByRaw as string)) {
    check.problem("`keyBy` must be 'ip', 'apiKey', 'user' or a function of the request");
  }
  const store = check.raw('store') ?? 'memory';
  if (store !== 'memory' && !isRedisClient(store)) {
    check.problem("`store` must be 'memory' or a Redis client");
  }
  const prefix = check.string('prefix', 'bulwark:cost:', { nonEmpty: true });
  const mode = check.oneOf('onStoreError', MODES, 'fail-closed');
  const maxKeys = check.number('maxKeys', {
    min: 1,
    max: 10_000_000,
    integer: true,
    default: 10_000,
  });
  const production = isProduction(check.string('env', currentEnvironment()).trim().toLowerCase());
  if (production && mode === 'memory-fallback') {
    check.problem(
      "`onStoreError: 'memory-fallback'` is refused in production: each replica would grant the whole budget",
    );
  }
  check.done();
  if (cost === undefined || budget === undefined) throw new Error('unreachable');

  const keyOf = keyGenerator(keyByRaw as RateLimitKeyBy, 56);
  const memory = memoryBudget(budget, windowMs, maxKeys);
  const primary = isRedisClient(store) ? redisBudget(store, prefix, budget, windowMs) : memory;
  const policy = `"cost";q=${String(budget)};w=${String(Math.ceil(windowMs / 1000))}`;
  const charges = new WeakMap<Request, { key: string; charged: number; store: BudgetStore }>();
  let reportedOutage = false;

  const reportStoreError = (req: Request, error: unknown): void => {
    if (reportedOutage) return;
    reportedOutage = true;
    securityEvents.emit('rate_limit.store_error', req, {
      reason: 'store_unreachable',
      limiter: 'cost',
      mode,
      error: error instanceof Error ? error.message : String(error),
    });
  };

  const middleware = asyncMiddleware(
    'costLimitMiddleware',
    async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      const spend = cost(req);
      if (!isCost(spend)) {
        sendProblem(
          res,
          new BulwarkError('validation.failed', {
            detail: 'The request cost must be a whole number of at least 0.',
          }),
        );
        return;
      }
      const key = keyOf(req);
      let used: Charge;
      let chargedIn = primary;
      try {
        used = await primary.charge(key, spend);
        reportedOutage = false;
      } catch (error) {
        reportStoreError(req, error);
        if (mode === 'fail-open') {
          next();
          return;
        }
        if (mode === 'fail-closed') {
          sendProblem(
            res,
            new BulwarkError('rate_limit.unavailable', {
              detail: 'The budget store is unavailable; try again shortly.',
              headers: { 'Retry-After': '1' },
            }),
          );
          return;
        }
        chargedIn = memory;
        used = await memory.charge(key, spend);
      }
      const resetSeconds = Math.max(1, Math.ceil(used.resetMs / 1000));
      appendRateLimitItem(res, 'RateLimit-Policy', policy);
      appendRateLimitItem(
        res,
        'RateLimit',
        `"cost";r=${String(Math.max(0, budget - used.used))};t=${String(resetSeconds)}`,
      );
      if (!used.allowed) {
        securityEvents.emit('rate_limit.budget_exceeded', req, {
          reason: spend > budget ? 'cost_over_budget' : 'budget_spent',
          cost: spend,
          budget,
        });
        sendProblem(
          res,
          new BulwarkError('rate_limit.budget_exceeded', {
            detail:
              spend > budget
                ? 'This request costs more than the whole budget for the window.'
                : 'The budget for this window is spent.',
            headers: { 'Retry-After': String(resetSeconds) },
          }),
        );
        return;
      }
      charges.set(req, { key, charged: spend, store: chargedIn });
      next();
    },
  );

  const settle = async (req: Request, actual: number): Promise<void> => {
    if (!isCost(actual)) {
      throw new BulwarkError('validation.failed', {
        detail: 'The settled cost must be a whole number of at least 0.',
      });
    }
    const charge = charges.get(req);
    if (charge === undefined) return;
    charges.delete(req);
    const delta = actual - charge.charged;
    if (delta === 0) return;
    try {
      await charge.store.adjust(charge.key, delta);
    } catch (error) {
      // The provider call already succeeded; a lost correction must not fail the response.
      reportStoreError(req, error);
    }
  };

  return Object.assign(middleware, { settle });
}
