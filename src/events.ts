import type { Request } from 'express';
import { clientIp } from './internal/client-ip.js';
import { createSecurityLogger, SECURITY_REDACTION } from './redaction/logger.js';
import { createRedactor } from './redaction/redact.js';

/** Every event type a bulwark middleware reports. */
export const SECURITY_EVENT_TYPES = [
  'auth.failed',
  'auth.refresh_reused',
  'authz.denied',
  'rate_limit.exceeded',
  'rate_limit.store_error',
  'rate_limit.store_recovered',
  'rate_limit.budget_exceeded',
  'path.traversal_blocked',
  'validation.rejected',
  'request.rejected',
  'request.timeout',
  'host.rejected',
  'cors.rejected',
  'suspicious.activity',
  'circuit.open',
  'circuit.half_open',
  'circuit.closed',
  'llm.redacted',
  'config.warning',
  'error.unhandled',
] as const;

export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];

/**
 * One security event. The fixed members are always present (request members
 * are `undefined` for events raised outside a request); modules add their own
 * members, which pass through the redactor like the rest.
 */
export interface SecurityEvent<T extends SecurityEventType = SecurityEventType> {
  readonly type: T;
  /** ISO 8601 time the event was raised. */
  readonly time: string;
  readonly requestId: string | undefined;
  readonly ip: string | undefined;
  readonly method: string | undefined;
  /** Request path without the query string, which may carry secrets. */
  readonly path: string | undefined;
  /** Short machine-friendly reason, e.g. `expired`, `bad_signature`. */
  readonly reason: string;
  readonly [member: string]: unknown;
}

export type SecurityEventListener<T extends SecurityEventType = SecurityEventType> = (
  event: SecurityEvent<T>,
) => void;

/** Turns an event into what listeners and the sink may see; the redaction engine plugs in here. */
export type EventRedactor = (event: SecurityEvent) => SecurityEvent;

/** Receives every event after redaction; the default writes one JSON line to stderr. */
export type EventSink = (event: SecurityEvent) => void;

/**
 * Events are about client addresses, so the default redactor keeps IPs and
 * redacts every other category: secrets, tokens, e-mail addresses, cards.
 */
const securityEventRedactor = createRedactor(SECURITY_REDACTION);

const defaultRedactor: EventRedactor = (event) =>
  // A plain object comes back a plain object, and the fixed members' names and kinds survive.
  securityEventRedactor(event) as SecurityEvent;

let eventLogger: ReturnType<typeof createSecurityLogger> | undefined;

const defaultSink: EventSink = (event) => {
  eventLogger ??= createSecurityLogger({ level: 'debug', redaction: SECURITY_REDACTION });
  eventLogger.warn(event);
};

/** The typed security-event bus that every middleware reports to. */
export class SecurityEventBus {
  readonly #listeners = new Map<SecurityEventType | '*', Set<SecurityEventListener>>();
  #redactor: EventRedactor = defaultRedactor;
  #sink: EventSink | undefined = defaultSink;

  /**
   * Subscribes to one event type, or `'*'` for all. Returns the unsubscribe function.
   * @example securityEvents.on('auth.failed', (e) => metrics.inc(e.reason));
   */
  on<T extends SecurityEventType>(type: T | '*', listener: SecurityEventListener<T>): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    const stored = listener as SecurityEventListener;
    set.add(stored);
    return () => {
      set.delete(stored);
    };
  }

  off<T extends SecurityEventType>(type: T | '*', listener: SecurityEventListener<T>): void {
    this.#listeners.get(type)?.delete(listener as SecurityEventListener);
  }

  /** Replaces the redactor every event passes through before any listener or sink sees it. */
  setRedactor(redactor: EventRedactor): void {
    this.#redactor = redactor;
  }

  /** Replaces the default JSON-lines sink; `null` switches it off. */
  setSink(sink: EventSink | null): void {
    this.#sink = sink ?? undefined;
  }

  listenerCount(type?: SecurityEventType | '*'): number {
    if (type !== undefined) return this.#listeners.get(type)?.size ?? 0;
    let total = 0;
    for (const set of this.#listeners.values()) total += set.size;
    return total;
  }

  /** Raises an event. A throwing listener never breaks the request that raised it. */
  emit(
    type: SecurityEventType,
    req: Request | undefined,
    fields: { reason: string } & Record<string, unknown>,
  ): void {
    const raw: SecurityEvent = {
      ...fields,
      type,
      time: new Date().toISOString(),
      requestId: req?.requestId,
      ip: req === undefined ? undefined : clientIp(req),
      method: req?.method,
      path: req === undefined ? undefined : pathOf(req),
    };
    let event: SecurityEvent;
    try {
      event = this.#redactor(raw);
    } catch {
      event = {
        type,
        time: raw.time,
        requestId: raw.requestId,
        ip: undefined,
        method: raw.method,
        path: undefined,
        reason: 'redactor_failed',
      };
    }
    this.#deliver(this.#listeners.get(type), event);
    this.#deliver(this.#listeners.get('*'), event);
    if (this.#sink !== undefined) this.#deliver([this.#sink], event);
  }

  #deliver(listeners: Iterable<SecurityEventListener> | undefined, event: SecurityEvent): void {
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        process.emitWarning(
          `a securityEvents listener threw: ${error instanceof Error ? error.message : String(error)}`,
          { type: 'BulwarkWarning', code: 'BULWARK_LISTENER_THREW' },
        );
      }
    }
  }
}

function pathOf(req: Request): string {
  const url = req.originalUrl || req.url;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** The process-wide bus. */
export const securityEvents = new SecurityEventBus();
