import type { Request, RequestHandler, Response } from 'express';
import { SECURITY_EVENT_TYPES, securityEvents, type SecurityEvent } from '../events.js';
import { asyncMiddleware } from '../internal/async.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';

export interface SecurityMetricsOptions {
  /**
   * More exposition text served after bulwark's, e.g. `() => register.metrics()`
   * from your prom-client registry, so one scrape target serves both.
   */
  append?: () => string | Promise<string>;
}

const KNOWN: KnownKeys<SecurityMetricsOptions> = { append: true };

const METRIC = 'bulwark_security_events_total';
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Most distinct (type, reason) series; later new reasons count under `other`. */
export const MAX_SERIES = 500;
// Reasons are short fixed identifiers; anything else (a value slipped into a reason) is `other`.
const REASON = /^[a-z0-9_.]{1,64}$/;
const KNOWN_TYPES: ReadonlySet<string> = new Set(SECURITY_EVENT_TYPES);

/**
 * Process-wide counts by type then reason. One subscription to the bus,
 * however many handlers are made; labels never carry IPs, paths or keys.
 */
const counts = new Map<string, Map<string, number>>();
let series = 0;
let subscribed = false;

function count(event: SecurityEvent): void {
  const type: string = event.type;
  if (!KNOWN_TYPES.has(type)) return;
  let byReason = counts.get(type);
  if (byReason === undefined) {
    byReason = new Map();
    counts.set(type, byReason);
  }
  let reason =
    typeof event.reason === 'string' && REASON.test(event.reason) ? event.reason : 'other';
  if (!byReason.has(reason)) {
    // Past the cap every new reason folds into `other`, at most one more series per type.
    if (series >= MAX_SERIES) reason = 'other';
    if (!byReason.has(reason)) series++;
  }
  byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
}

/** Label values cannot break out of their quotes: `\`, `"` and newlines are escaped. */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function render(): string {
  const lines = [
    `# HELP ${METRIC} Security events raised by bulwark, by event type and reason.`,
    `# TYPE ${METRIC} counter`,
  ];
  for (const type of [...counts.keys()].sort()) {
    const byReason = counts.get(type);
    if (byReason === undefined) continue;
    for (const reason of [...byReason.keys()].sort()) {
      lines.push(
        `${METRIC}{type="${label(type)}",reason="${label(reason)}"} ${String(byReason.get(reason) ?? 0)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Serves the security-event counters in the Prometheus text exposition
 * format: `bulwark_security_events_total{type, reason}`. Counting starts at
 * the first call. Mount it behind `protectMetrics()`.
 *
 * @param [options.append] more exposition text to serve after bulwark's
 * @example app.get('/metrics', protectMetrics({ basicAuth }), securityMetrics());
 */
export function securityMetrics(options?: SecurityMetricsOptions): RequestHandler {
  const check = new OptionChecker('securityMetrics', options, KNOWN);
  const append = check.func<() => string | Promise<string>>('append');
  check.done();
  if (!subscribed) {
    subscribed = true;
    securityEvents.on('*', count);
  }

  return asyncMiddleware(
    'securityMetricsMiddleware',
    async (_req: Request, res: Response): Promise<void> => {
      let body = render();
      if (append !== undefined) {
        const more = await append();
        body += more.endsWith('\n') || more === '' ? more : `${more}\n`;
      }
      res.setHeader('Content-Type', CONTENT_TYPE);
      res.setHeader('Cache-Control', 'no-store');
      res.status(200).end(body);
    },
  );
}
