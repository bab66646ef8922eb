import {
  SECURITY_EVENT_TYPES,
  securityEvents,
  type SecurityEvent,
  type SecurityEventType,
} from '../events.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { EventLabels } from './event-labels.js';

/*
 * The OpenTelemetry shapes bulwark calls, written out here rather than
 * imported from `@opentelemetry/api`: the app passes in its own objects, so
 * bulwark neither loads the API at run time nor needs its types to compile,
 * and an app on any 1.x API (one copy or several) fits.
 */

/**
 * An attribute value OpenTelemetry accepts. Arrays are mutable in the type
 * because the API's `AttributeValue` declares them so, and a readonly array
 * would not be assignable to it.
 */
export type TelemetryAttributeValue = string | number | boolean | string[] | number[] | boolean[];

export type TelemetryAttributes = Record<string, TelemetryAttributeValue>;

/** What bulwark uses of an OpenTelemetry `Counter`. */
export interface TelemetryCounter {
  add(value: number, attributes?: TelemetryAttributes): void;
}

/** What bulwark uses of an OpenTelemetry `Meter`, e.g. `metrics.getMeter('bulwark')`. */
export interface TelemetryMeter {
  createCounter(name: string, options?: { description?: string; unit?: string }): TelemetryCounter;
}

/** What bulwark uses of an OpenTelemetry `Span`. */
export interface TelemetrySpan {
  isRecording(): boolean;
  addEvent(name: string, attributes?: TelemetryAttributes, startTime?: Date): unknown;
}

/** What bulwark uses of OpenTelemetry's `trace` API: the span of the current context. */
export interface TelemetryTrace {
  getActiveSpan(): TelemetrySpan | undefined;
}

export interface OpenTelemetryEventsOptions {
  /**
   * Counts every event on the counter `bulwark.security_events` with the
   * attributes `{type, reason}`, e.g. `metrics.getMeter('bulwark')`.
   */
  meter?: TelemetryMeter;
  /**
   * Adds each event to the active span as a span event, e.g. the `trace`
   * export of `@opentelemetry/api`.
   */
  trace?: TelemetryTrace;
  /** Event types bridged. @default every type */
  types?: readonly SecurityEventType[];
}

const KNOWN: KnownKeys<OpenTelemetryEventsOptions> = { meter: true, trace: true, types: true };

/** Name of the counter; a Prometheus exporter shows it as `bulwark_security_events_total`. */
export const SECURITY_EVENTS_COUNTER = 'bulwark.security_events';
const ATTRIBUTE_PREFIX = 'bulwark.';
const KNOWN_TYPES: ReadonlySet<string> = new Set(SECURITY_EVENT_TYPES);

function isMeter(value: unknown): value is TelemetryMeter {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>).createCounter === 'function'
  );
}

function isTrace(value: unknown): value is TelemetryTrace {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>).getActiveSpan === 'function'
  );
}

function sameKindArray(value: unknown[]): value is string[] | number[] | boolean[] {
  const kind = typeof value[0];
  return (
    (kind === 'string' || kind === 'number' || kind === 'boolean') &&
    value.every((item) => typeof item === kind)
  );
}

/**
 * Span-event attributes from an event that has already been redacted: scalars
 * as they are, nested members (`usage`, `redacted` counts) as JSON, since
 * OpenTelemetry attributes hold only scalars and arrays of one kind.
 */
function spanAttributes(event: SecurityEvent): TelemetryAttributes {
  const attributes: TelemetryAttributes = {};
  for (const [key, value] of Object.entries(event)) {
    // `type` names the span event and `time` is its timestamp.
    if (key === 'type' || key === 'time' || value === undefined || value === null) continue;
    const name = ATTRIBUTE_PREFIX + key;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      attributes[name] = value;
    } else if (Array.isArray(value) && sameKindArray(value)) {
      attributes[name] = value;
    } else {
      let json: string | undefined;
      try {
        json = JSON.stringify(value);
      } catch {
        // A custom redactor may hand back what JSON cannot write; the member is left out.
      }
      if (json !== undefined) attributes[name] = json;
    }
  }
  return attributes;
}

/**
 * Bridges `securityEvents` to OpenTelemetry: each event adds 1 to the
 * counter `bulwark.security_events` with the attributes `{type, reason}`
 * (bounded like `securityMetrics()`), and, when a recording span is active,
 * becomes a span event named after its type with the event's members as
 * `bulwark.*` attributes. Events reach it after the bus's redactor, like
 * every listener, so what a span carries is what the logs carry.
 *
 * Pass the objects your app's OpenTelemetry set-up provides; bulwark does
 * not load `@opentelemetry/api` itself.
 *
 * @param [options.meter] e.g. `metrics.getMeter('bulwark')`
 * @param [options.trace] the `trace` API, for the active span
 * @param [options.types] event types bridged (default: all)
 * @returns a function that stops the bridge
 * @throws {BulwarkConfigError} with neither `meter` nor `trace`, or on a bad option
 * @example
 * import { metrics, trace } from '@opentelemetry/api';
 * const stop = openTelemetryEvents({ meter: metrics.getMeter('bulwark'), trace });
 */
export function openTelemetryEvents(options: OpenTelemetryEventsOptions): () => void {
  const check = new OptionChecker('openTelemetryEvents', options, KNOWN);
  const meter = check.raw('meter');
  const trace = check.raw('trace');
  if (meter !== undefined && !isMeter(meter)) {
    check.problem('`meter` must be an OpenTelemetry Meter, e.g. `metrics.getMeter("bulwark")`');
  }
  if (trace !== undefined && !isTrace(trace)) {
    check.problem('`trace` must be the OpenTelemetry `trace` API (with `getActiveSpan()`)');
  }
  if (meter === undefined && trace === undefined) {
    check.problem('give `meter`, `trace` or both: with neither, nothing would be recorded');
  }
  const types = check.stringArray('types', [...SECURITY_EVENT_TYPES], { nonEmpty: true });
  for (const type of types) {
    if (!KNOWN_TYPES.has(type)) {
      check.problem(`\`types\` entry ${JSON.stringify(type)} is not a security event type`);
    }
  }
  check.done();

  const counter = isMeter(meter)
    ? meter.createCounter(SECURITY_EVENTS_COUNTER, {
        description: 'Security events raised by bulwark, by event type and reason.',
        unit: '{event}',
      })
    : undefined;
  const spans = isTrace(trace) ? trace : undefined;
  const selected: ReadonlySet<string> = new Set(types);
  const labels = new EventLabels();

  function openTelemetryEventsListener(event: SecurityEvent): void {
    if (!selected.has(event.type)) return;
    if (counter !== undefined) {
      const labelled = labels.of(event);
      if (labelled !== undefined) counter.add(1, labelled);
    }
    const span = spans?.getActiveSpan();
    if (span?.isRecording() === true) {
      // The time the event was raised; a custom redactor that garbled it leaves the span's clock.
      const time = new Date(event.time);
      span.addEvent(
        event.type,
        spanAttributes(event),
        Number.isNaN(time.getTime()) ? undefined : time,
      );
    }
  }

  const off = securityEvents.on('*', openTelemetryEventsListener);
  return function stopOpenTelemetryEvents(): void {
    off();
  };
}
