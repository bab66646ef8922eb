import { createRequire } from 'node:module';
import type { Request, RequestHandler, Response } from 'express';
import type * as PromClientModule from 'prom-client';
import type { Counter, Registry, RegistryContentType } from 'prom-client';
import { BulwarkConfigError } from '../errors.js';
import { securityEvents, type SecurityEvent } from '../events.js';
import { asyncMiddleware } from '../internal/async.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { EventLabels } from './event-labels.js';

export interface SecurityMetricsOptions {
  /**
   * The prom-client registry to register bulwark's counters in, e.g. your
   * app's, so `registry.metrics()` and this handler both serve everything.
   * Default: a registry of bulwark's own.
   */
  registry?: Registry<RegistryContentType>;
  /**
   * More exposition text served after the registry's, e.g. from a registry
   * you keep apart from bulwark's.
   */
  append?: () => string | Promise<string>;
}

const KNOWN: KnownKeys<SecurityMetricsOptions> = { registry: true, append: true };

const METRIC = 'bulwark_security_events_total';
const HELP = 'Security events raised by bulwark, by event type and reason.';
/**
 * Process-wide counts by type then reason. One subscription to the bus,
 * however many handlers and registries there are.
 */
const counts = new Map<string, Map<string, number>>();
const labels = new EventLabels();
let subscribed = false;

function count(event: SecurityEvent): void {
  const labelled = labels.of(event);
  if (labelled === undefined) return;
  let byReason = counts.get(labelled.type);
  if (byReason === undefined) {
    byReason = new Map();
    counts.set(labelled.type, byReason);
  }
  byReason.set(labelled.reason, (byReason.get(labelled.reason) ?? 0) + 1);
}

type PromClient = typeof PromClientModule;
type AnyRegistry = Registry<RegistryContentType>;
let promClient: PromClient | undefined;
let ownRegistry: AnyRegistry | undefined;
/** The counter bulwark registered in each registry, so a second handler reuses it. */
const counters = new WeakMap<AnyRegistry, Counter>();

function loadPromClient(): PromClient {
  // Loaded on the first securityMetrics() call, so importing bulwark does not load prom-client.
  promClient ??= createRequire(import.meta.url)('prom-client') as PromClient;
  return promClient;
}

/** A prom-client registry, possibly from another copy of prom-client than bulwark's. */
function isRegistry(value: unknown): value is AnyRegistry {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.registerMetric === 'function' &&
    typeof r.getSingleMetric === 'function' &&
    typeof r.metrics === 'function' &&
    typeof r.contentType === 'string'
  );
}

function register(registry: AnyRegistry, client: PromClient): void {
  if (counters.has(registry)) return;
  if (registry.getSingleMetric(METRIC) !== undefined) {
    throw new BulwarkConfigError('securityMetrics', [
      `the registry already holds a metric named \`${METRIC}\` that bulwark did not register (your own, or another copy of bulwark's); remove it or pass another \`registry\``,
    ]);
  }
  const counter = new client.Counter({
    name: METRIC,
    help: HELP,
    labelNames: ['type', 'reason'] as const,
    registers: [registry],
    // Copies the shared counts at scrape time: every registry sees the same process-wide totals.
    collect(this: Counter<'type' | 'reason'>): void {
      this.reset();
      for (const type of [...counts.keys()].sort()) {
        const byReason = counts.get(type);
        if (byReason === undefined) continue;
        for (const reason of [...byReason.keys()].sort()) {
          this.inc({ type, reason }, byReason.get(reason) ?? 0);
        }
      }
    },
  });
  counters.set(registry, counter);
}

/**
 * Registers the security-event counters,
 * `bulwark_security_events_total{type, reason}`, in a prom-client registry
 * and serves that registry in the Prometheus text exposition format.
 * Counting starts at the first call. Mount it behind `protectMetrics()`.
 *
 * @param [options.registry] your prom-client registry (default: bulwark's own)
 * @param [options.append] more exposition text to serve after the registry's
 * @throws {BulwarkConfigError} on a bad option, or when the registry already
 *   holds a `bulwark_security_events_total` that bulwark did not register
 * @example app.get('/metrics', protectMetrics({ basicAuth }), securityMetrics({ registry }));
 */
export function securityMetrics(options?: SecurityMetricsOptions): RequestHandler {
  const check = new OptionChecker('securityMetrics', options, KNOWN);
  const given = check.raw('registry');
  if (given !== undefined && !isRegistry(given)) {
    check.problem('`registry` must be a prom-client Registry (`new Registry()` or `register`)');
  }
  const append = check.func<() => string | Promise<string>>('append');
  check.done();

  const client = loadPromClient();
  const registry = isRegistry(given) ? given : (ownRegistry ??= new client.Registry());
  register(registry, client);
  if (!subscribed) {
    subscribed = true;
    securityEvents.on('*', count);
  }

  return asyncMiddleware(
    'securityMetricsMiddleware',
    async (_req: Request, res: Response): Promise<void> => {
      let body = await registry.metrics();
      if (append !== undefined) {
        const more = await append();
        body += more.endsWith('\n') || more === '' ? more : `${more}\n`;
      }
      res.setHeader('Content-Type', registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.status(200).end(body);
    },
  );
}
