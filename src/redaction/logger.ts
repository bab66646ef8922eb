import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { warnOnce } from '../internal/warn.js';
import { createRedactor, type RedactOptions, type Redactor } from './redact.js';

/** The levels a record is written at, lowest first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * What a logger's `level` may be set to, lowest first: pino's names, which is
 * what `LOG_LEVEL` takes, so `createSecurityLogger({ level: config.logLevel })`
 * works as is. `trace` writes what `debug` writes (no record is below debug);
 * `silent` writes nothing.
 */
export const LOG_THRESHOLDS = [
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
  'silent',
] as const;
export type LogThreshold = (typeof LOG_THRESHOLDS)[number];

/** Anything with a `write(string)`: a stream, a file handle wrapper, a test buffer. */
export interface LogDestination {
  write(chunk: string): unknown;
}

export type LogFields = Readonly<Record<string, unknown>>;

export interface SecurityLoggerOptions {
  /** Records below this level are not written; `LOG_LEVEL`'s names. Default `'info'`. */
  level?: LogThreshold;
  /** Where JSON lines go. Default `process.stderr`. */
  destination?: LogDestination;
  /**
   * How records are redacted. Default: every category except `ip`, because
   * security records are about client addresses. `{ categories: 'all' }` redacts those too.
   */
  redaction?: RedactOptions;
  /** Fields added to every record, e.g. `{ service: 'api' }`; redacted like the rest. */
  base?: LogFields;
}

type LogMethod = (messageOrFields: string | LogFields, fields?: LogFields) => void;

/** A JSON-lines logger that redacts every record before writing it. */
export interface SecurityLogger {
  readonly level: LogThreshold;
  isLevelEnabled(level: LogLevel): boolean;
  log(level: LogLevel, messageOrFields: string | LogFields, fields?: LogFields): void;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  fatal: LogMethod;
}

const KNOWN: KnownKeys<SecurityLoggerOptions> = {
  level: true,
  destination: true,
  redaction: true,
  base: true,
};

/** Security records keep client addresses; everything else is redacted. Internal: not in the barrel. */
export const SECURITY_REDACTION: RedactOptions = { categories: { ip: false } };

/**
 * Creates a JSON-lines logger: one line per record,
 * `{"level":"warn","time":"<ISO 8601>","msg":"...",...fields}`, redacted
 * before it is serialised. Newlines inside values are escaped by JSON, so a
 * record can never forge another line. Writing never throws into the caller.
 * @example
 * const log = createSecurityLogger({ level: 'warn', base: { service: 'api' } });
 * log.warn('login failed', { user: 'ann@example.com', password: 'x' });
 */
export function createSecurityLogger(options?: SecurityLoggerOptions): SecurityLogger {
  const check = new OptionChecker<SecurityLoggerOptions>('createSecurityLogger', options, KNOWN);
  const level = check.oneOf('level', LOG_THRESHOLDS, 'info');
  const destination = check.raw('destination');
  if (
    destination !== undefined &&
    (typeof destination !== 'object' ||
      destination === null ||
      typeof (destination as Partial<LogDestination>).write !== 'function')
  ) {
    check.problem('`destination` must have a write(string) method');
  }
  const base = check.raw('base');
  if (base !== undefined && (typeof base !== 'object' || base === null || Array.isArray(base))) {
    check.problem('`base` must be an object');
  }
  const redaction = check.raw('redaction');
  if (redaction !== undefined && (typeof redaction !== 'object' || redaction === null)) {
    check.problem('`redaction` must be an object of redact options');
  }
  check.done();
  const redactor: Redactor = createRedactor(
    (redaction as RedactOptions | undefined) ?? SECURITY_REDACTION,
  );
  const minimum = LOG_THRESHOLDS.indexOf(level);
  const baseFields = (base as LogFields | undefined) ?? {};
  const out = destination as LogDestination | undefined;

  const log = (at: LogLevel, messageOrFields: string | LogFields, fields?: LogFields): void => {
    if (LOG_THRESHOLDS.indexOf(at) < minimum) return;
    try {
      const record: Record<string, unknown> = { level: at, time: new Date().toISOString() };
      if (typeof messageOrFields === 'string') record.msg = messageOrFields;
      Object.assign(
        record,
        baseFields,
        typeof messageOrFields === 'string' ? fields : messageOrFields,
      );
      // Fields may carry their own time (an event's), but never another level.
      record.level = at;
      const line = JSON.stringify(redactor(record), jsonSafe);
      (out ?? process.stderr).write(`${line}\n`);
    } catch (error) {
      warnOnce(
        'BULWARK_LOG_WRITE_FAILED',
        `a security log record could not be written (${error instanceof Error ? error.name : 'unknown error'}).`,
      );
    }
  };
  const method =
    (at: LogLevel): LogMethod =>
    (messageOrFields, fields) => {
      log(at, messageOrFields, fields);
    };
  return {
    level,
    isLevelEnabled: (at) => LOG_THRESHOLDS.indexOf(at) >= minimum,
    log,
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
  };
}

/** What JSON.stringify cannot show on its own: bigints, Maps and Sets (left as such by `redact`). */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) {
    const object: Record<string, unknown> = {};
    for (const [key, member] of value) object[String(key)] = member;
    return object;
  }
  if (value instanceof Set) return [...value];
  return value;
}
