import type { NextFunction, Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { BulwarkError } from '../errors.js';
import type { RouteAgnosticHandler } from '../handler.js';
import { securityEvents } from '../events.js';
import { asyncMiddleware } from '../internal/async.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { sendProblem } from '../internal/problem.js';
import type { RedisClientLike } from '../stores/redis-client.js';
import { redisScript, runScript } from '../stores/redis-script.js';
import { addRateLimitItem } from './headers.js';
import { checkKeyBy, keyGenerator, type RateLimitKeyBy } from './keys.js';
import { boundedWindows } from './memory-store.js';
import {
  BASE_KEYS,
  checkBaseOptions,
  warnIfLocalInProduction,
  type LimiterBaseOptions,
} from './limiter.js';
import { StoreOutage, SUSPENDED } from './outage.js';

/**
 * The options every bulwark limiter shares (window, store, prefix, outage
 * mode, skip, env, ipv6Subnet, maxKeys), except that the store is memory or
 * Redis: an express-rate-limit `Store` counts requests and cannot charge a cost.
 */
export interface CostLimitOptions extends Omit<LimiterBaseOptions, 'store'> {
  /** What a request spends, e.g. its validated `max_tokens`. A whole number >= 0. */
  cost: (req: Request) => number;
  /** What each key may spend per window. */
  budget: number;
  /** Window length in ms (1 ms to 30 days). @default 60_000 */
  windowMs?: number;
  /** Who pays. @default 'apiKey' (falls back to the IP) */
  keyBy?: RateLimitKeyBy;
  /** @default 'memory' */
  store?: 'memory' | RedisClientLike;
  /** Redis key prefix. @default 'bulwark:cost:' */
  prefix?: string;
}

/** The middleware, plus the step that corrects a charge once real usage is known. */
export interface CostLimitMiddleware extends RouteAgnosticHandler {
  /**
   * Replaces the request's charge with what it really cost. A larger actual
   * cost is charged in full even past the budget (the tokens were spent); a
   * smaller one is refunded. No-op for requests this limiter did not charge,
   * and after the window has rolled over. A store error is reported as an
   * event, never thrown: the provider call it corrects has already succeeded.
   */
  settle(req: IncomingMessage, actual: number): Promise<void>;
}

const KNOWN: KnownKeys<CostLimitOptions> = {
  ...BASE_KEYS,
  cost: true,
  budget: true,
  keyBy: true,
};

// Budgets are often monthly: a window may be longer than a request limiter's, whose
// bound is the longest Node timer. Neither store sets a timer for it.
const MAX_WINDOW_MS = 30 * 86_400_000;

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

interface Window {
  used: number;
  readonly resetAt: number;
}

/**
 * Budgets in this process, at most `maxKeys` of them: the least recently
 * charged key goes first (an expired window is never touched again, so it is
 * among the first). Windows are fixed, from a key's first charge, and expire
 * by the clock rather than a timer.
 */
function memoryBudget(budget: number, windowMs: number, maxKeys: number): BudgetStore {
  const windows = boundedWindows<Window>(maxKeys);
  const current = (key: string, now: number): Window | undefined => {
    const window = windows.get(key);
    return window !== undefined && window.resetAt > now ? window : undefined;
  };
  return {
    charge(key, cost) {
      const now = Date.now();
      let window = current(key, now);
      if (window === undefined) {
        window = { used: 0, resetAt: now + windowMs };
        windows.set(key, window);
      }
      const allowed = window.used + cost <= budget;
      if (allowed) window.used += cost;
      return Promise.resolve({ allowed, used: window.used, resetMs: window.resetAt - now });
    },
    adjust(key, delta) {
      const window = current(key, Date.now());
      if (window !== undefined) window.used = Math.max(0, window.used + delta);
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
 * never overspend a shared budget. Options, outage modes and events are the
 * request limiters'.
 *
 * @param options.cost what a request spends (whole number >= 0)
 * @param options.budget what a key may spend per window
 * @param [options.windowMs=60000]
 * @param [options.keyBy='apiKey']
 * @param [options.store='memory']
 * @param [options.prefix='bulwark:cost:']
 * @param [options.onStoreError='fail-closed']
 * @param [options.ipv6Subnet=56]
 * @param [options.maxKeys=100000]
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
  const costOption = check.func<(req: Request) => number>('cost');
  if (costOption === undefined) check.problem('`cost` is required: a function of the request');
  const budgetOption = check.number('budget', {
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    integer: true,
    default: undefined,
  });
  if (budgetOption === undefined) check.problem('`budget` is required');
  const base = checkBaseOptions(check, {
    windowMs: 60_000,
    prefix: 'bulwark:cost:',
    maxWindowMs: MAX_WINDOW_MS,
    acceptsStore: false,
  });
  const keyBy = checkKeyBy(check, 'apiKey');
  const { cost, budget } = check.done({ cost: costOption, budget: budgetOption });

  const { windowMs, mode, skip } = base;
  const keyOf = keyGenerator(keyBy, base.ipv6Subnet);
  const redis = base.store.kind === 'redis' ? base.store.client : undefined;
  const primary =
    redis === undefined
      ? memoryBudget(budget, windowMs, base.maxKeys)
      : redisBudget(redis, base.prefix, budget, windowMs);
  const fallback =
    redis !== undefined && mode === 'memory-fallback'
      ? memoryBudget(budget, windowMs, base.maxKeys)
      : undefined;
  warnIfLocalInProduction(base, redis === undefined);
  const outage = new StoreOutage({
    limiter: 'cost',
    store: redis === undefined ? 'memory' : 'redis',
    prefix: base.prefix,
    mode,
  });
  const policy = `"cost";q=${String(budget)};w=${String(Math.ceil(windowMs / 1000))}`;
  const invalidCost = new BulwarkError('validation.failed', {
    detail: 'The request cost must be a whole number of at least 0.',
  });
  const charges = new WeakMap<
    IncomingMessage,
    { key: string; charged: number; store: BudgetStore }
  >();

  /** Charges the primary store; undefined when it failed or is suspended. */
  const chargePrimary = async (key: string, spend: number): Promise<Charge | undefined> => {
    if (outage.suspended) {
      outage.failed(SUSPENDED, 'charge');
      return undefined;
    }
    try {
      return await primary.charge(key, spend);
    } catch (error) {
      outage.failed(error, 'charge');
      return undefined;
    }
  };

  const middleware = asyncMiddleware(
    'costLimitMiddleware',
    async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      if (skip !== undefined && (await skip(req))) {
        next();
        return;
      }
      const spend = cost(req);
      if (!isCost(spend)) {
        sendProblem(res, invalidCost);
        return;
      }
      const key = keyOf(req);
      let chargedIn = primary;
      let used = await chargePrimary(key, spend);
      if (used === undefined) {
        if (fallback === undefined) {
          outage.answer(res, next);
          return;
        }
        chargedIn = fallback;
        used = await fallback.charge(key, spend);
      }
      const resetSeconds = Math.max(1, Math.ceil(used.resetMs / 1000));
      addRateLimitItem(res, 'RateLimit-Policy', policy);
      addRateLimitItem(
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

  const settle = async (req: IncomingMessage, actual: number): Promise<void> => {
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
    if (charge.store === primary && outage.suspended) {
      outage.failed(SUSPENDED, 'settle');
      return;
    }
    try {
      await charge.store.adjust(charge.key, delta);
    } catch (error) {
      // The provider call already succeeded; a lost correction must not fail the response.
      outage.failed(error, 'settle');
    }
  };

  return Object.assign(middleware, { settle });
}
