import type { Request, RequestHandler, Response } from 'express';
import { BulwarkConfigError } from '../errors.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import {
  isRedisClient,
  redisCommandOnEveryNode,
  type RedisClientLike,
} from '../stores/redis-client.js';

/**
 * One readiness check: resolves when its store answers, rejects (or never
 * settles) when it does not. It is given a signal that aborts at the deadline,
 * so a check that can cancel its work (a `pg` query, a `fetch`) should.
 * Any store plugs in as a function: `() => pool.query('SELECT 1')` for PostgreSQL.
 */
export type StoreCheck = (signal: AbortSignal) => Promise<unknown>;

/** How one check went: answered, refused or failed, or did not answer within the deadline. */
export type StoreCheckStatus = 'ok' | 'failed' | 'timeout';

export interface StoreCheckReport {
  /** Whether every check answered `ok`. */
  ready: boolean;
  /** Each check's outcome by name; never an error message, a URL or a credential. */
  checks: Record<string, StoreCheckStatus>;
}

export interface StoreCheckOptions {
  /** Milliseconds each check may take before it counts as `timeout`. @default 1000 */
  timeoutMs?: number;
}

export interface ReadinessRouteOptions extends StoreCheckOptions {
  /** The checks by name, e.g. `{ redis: pingRedis(redis) }`; the names appear in the answer. */
  checks: Readonly<Record<string, StoreCheck>>;
}

const KNOWN: KnownKeys<ReadinessRouteOptions> = { checks: true, timeoutMs: true };
const CHECK_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const DEFAULT_TIMEOUT_MS = 1000;
// How long a load balancer is asked to wait before it probes again.
const RETRY_AFTER_SECONDS = '5';

/**
 * The readiness check for a Redis client: one `PING`, within the client's
 * command deadline; on a cluster, one to every primary, so a node that is
 * down fails the check.
 *
 * @example readinessRoute({ checks: { redis: pingRedis(redis) } })
 */
export function pingRedis(client: RedisClientLike): StoreCheck {
  if (!isRedisClient(client)) {
    throw new BulwarkConfigError('pingRedis', [
      '`client` must be a Redis client (from createRedisClient)',
    ]);
  }
  return async function redisPing() {
    for (const outcome of await redisCommandOnEveryNode(client, ['PING'])) {
      if (outcome.status === 'rejected') throw outcome.reason;
    }
  };
}

async function runCheck(check: StoreCheck, timeoutMs: number): Promise<StoreCheckStatus> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<StoreCheckStatus>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve('timeout');
    }, timeoutMs);
  });
  const outcome = (async (): Promise<StoreCheckStatus> => {
    try {
      await check(controller.signal);
      return 'ok';
    } catch {
      return controller.signal.aborted ? 'timeout' : 'failed';
    }
  })();
  try {
    return await Promise.race([outcome, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs every check at once, each with its own deadline, and reports which
 * answered. Never rejects: a check that throws counts as `failed`.
 *
 * @param [options.timeoutMs=1000]
 * @example const { ready, checks } = await checkStores({ redis: pingRedis(redis) });
 */
export async function checkStores(
  checks: Readonly<Record<string, StoreCheck>>,
  options?: StoreCheckOptions,
): Promise<StoreCheckReport> {
  const timeoutMs = options?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const names = Object.keys(checks);
  const outcomes = await Promise.all(
    names.map((name) => runCheck(checks[name] as StoreCheck, timeoutMs)),
  );
  const report: Record<string, StoreCheckStatus> = {};
  names.forEach((name, i) => {
    report[name] = outcomes[i] as StoreCheckStatus;
  });
  return { ready: outcomes.every((outcome) => outcome === 'ok'), checks: report };
}

/**
 * A readiness endpoint: runs each check with a short deadline and answers
 * 200 `{"status":"ready","checks":{"redis":"ok"}}`, or 503
 * `{"status":"unavailable","checks":{"redis":"timeout"}}` with `Retry-After`.
 * The answer names checks and outcomes only, never an error, URL or password.
 * Probes that arrive while a round of checks is running share its result, so
 * a burst of probes costs the stores one round.
 *
 * Mount it beside a liveness route that touches no store:
 *
 * @param options.checks the checks by name (1-64 characters of A-Z a-z 0-9 _ . -)
 * @param [options.timeoutMs=1000]
 * @example
 * app.get('/health', (_req, res) => res.json({ status: 'ok' }));
 * app.get('/ready', readinessRoute({ checks: { redis: pingRedis(redis) } }));
 */
export function readinessRoute(options: ReadinessRouteOptions): RequestHandler {
  const check = new OptionChecker('readinessRoute', options, KNOWN);
  const timeoutMs = check.number('timeoutMs', {
    min: 1,
    max: 60_000,
    integer: true,
    default: DEFAULT_TIMEOUT_MS,
  });
  const raw = check.raw('checks');
  const checks: Record<string, StoreCheck> = {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    check.problem(
      '`checks` must be an object of named check functions, e.g. { redis: pingRedis(redis) }',
    );
  } else {
    for (const [name, fn] of Object.entries(raw)) {
      if (!CHECK_NAME.test(name)) {
        check.problem(
          `check name ${JSON.stringify(name.slice(0, 70))} must be 1-64 characters of A-Z a-z 0-9 _ . -`,
        );
      }
      if (typeof fn !== 'function') check.problem(`check \`${name}\` must be a function`);
      else checks[name] = fn as StoreCheck;
    }
  }
  check.done();

  let running: Promise<StoreCheckReport> | undefined;
  const currentReport = (): Promise<StoreCheckReport> => {
    running ??= checkStores(checks, { timeoutMs }).finally(() => {
      running = undefined;
    });
    return running;
  };

  return function readinessRouteMiddleware(_req: Request, res: Response): void {
    void currentReport().then(({ ready, checks: outcomes }) => {
      // A request deadline may have answered already.
      if (res.headersSent) return;
      res.setHeader('Cache-Control', 'no-store');
      if (!ready) res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
      res
        .status(ready ? 200 : 503)
        .json({ status: ready ? 'ready' : 'unavailable', checks: outcomes });
    });
  };
}
