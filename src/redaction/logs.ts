import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { createRedactor, type Redactor, type RedactionPattern } from './redact.js';

export interface PrepareLogsOptions {
  /** Cap on the UTF-8 size of `text` (256 B - 10 MiB, default 16 KiB). */
  maxBytes?: number;
  /** Longer single lines are cut to this many characters (80 - 65536, default 2000). */
  maxLineLength?: number;
  /** More secret-bearing key names (see `redact`). */
  keys?: readonly string[];
  /** More patterns (see `redact`). */
  patterns?: readonly RedactionPattern[];
}

/** What `prepareLogsForLLM` returns. */
export interface PreparedLogs {
  /** The kept lines, redacted, joined by `\n`; ends with a note when the size cap cut lines. */
  readonly text: string;
  /** Lines in the input. */
  readonly lines: number;
  /** Lines in `text` (error lines and the stack-trace lines that follow them). */
  readonly kept: number;
  /** Lines left out: below error level, or over the size cap. */
  readonly dropped: number;
  /** Whether the size cap (or the line-length cap) cut anything. */
  readonly truncated: boolean;
  /** Redactions per category over the kept lines. */
  readonly redacted: Readonly<Record<string, number>>;
}

const KNOWN: KnownKeys<PrepareLogsOptions> = {
  maxBytes: true,
  maxLineLength: true,
  keys: true,
  patterns: true,
};

// Plain-text levels: a capitalised level word standing alone, `[error]`-style
// tags, or `level=error` (logfmt). The text looked at is bounded, so these run in
// constant time per line whatever the line is.
const TEXT_LEVEL =
  /(?:^|[\s[(<|:])(?:ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC|EMERG|EMERGENCY|ALERT|SEVERE)(?=$|[\s\]):>|,])/;
const TAGGED_LEVEL = /[[<](?:error|err|fatal|critical|crit|panic|emerg|alert|severe)[\]>]/i;
const LOGFMT_LEVEL =
  /\b(?:level|lvl|severity)\s*[=:]\s*"?(?:error|err|fatal|critical|crit|panic|emerg|emergency|alert|severe)\b/i;
const LEVEL_WINDOW = 256;

const ERROR_NAMES = new Set([
  'error',
  'err',
  'fatal',
  'critical',
  'crit',
  'panic',
  'emerg',
  'emergency',
  'alert',
  'severe',
]);

/** pino and bunyan: 50 = error, 60 = fatal. */
const NUMERIC_ERROR_LEVEL = 50;

/** A stack frame or a cause that belongs to the error line above it. */
const CONTINUATION = /^(?:\s+\S|Caused by[: ]|Traceback \(|\S*(?:Error|Exception)\b[^\n]{0,200}$)/;

/**
 * Picks the error-level lines out of a log, redacts them with every category
 * on, and caps the result, ready to send to an LLM for a summary.
 * Recognises plain-text levels (`ERROR`, `FATAL`, `CRITICAL`, `PANIC`, ...),
 * `level=error` (logfmt) and JSON lines (`level`/`severity`/`levelname`, pino
 * and bunyan numeric levels >= 50). Stack-trace lines right after a kept line
 * are kept with it. The earliest errors are kept when the cap is reached: the
 * first failure is usually the cause of the rest.
 * @example
 * const { text, dropped } = prepareLogsForLLM(fs.readFileSync('app.log', 'utf8'));
 */
export function prepareLogsForLLM(
  input: string | readonly string[],
  options?: PrepareLogsOptions,
): PreparedLogs {
  const check = new OptionChecker<PrepareLogsOptions>('prepareLogsForLLM', options, KNOWN);
  const maxBytes = check.number('maxBytes', {
    min: 256,
    max: 10 * 1024 * 1024,
    integer: true,
    default: 16 * 1024,
  });
  const maxLineLength = check.number('maxLineLength', {
    min: 80,
    max: 65536,
    integer: true,
    default: 2000,
  });
  const keys = check.stringArray('keys', []);
  const patterns = check.raw('patterns') as readonly RedactionPattern[] | undefined;
  if (typeof input !== 'string' && !Array.isArray(input)) {
    check.problem('logs must be a string or an array of strings');
  }
  check.done();
  const redactor =
    keys.length === 0 && patterns === undefined
      ? defaultLogRedactor()
      : createRedactor({ keys, ...(patterns === undefined ? {} : { patterns }) });

  const lines = typeof input === 'string' ? splitLines(input) : input;

  const counts: Record<string, number> = {};
  const out: string[] = [];
  let bytes = 0;
  let kept = 0;
  let truncated = false;
  let overCap = 0;
  let keeping = false;
  for (const raw of lines) {
    const line = typeof raw === 'string' ? raw : String(raw);
    const json = parseJsonLine(line);
    keeping =
      json === undefined
        ? isErrorText(line) || (keeping && CONTINUATION.test(line))
        : isErrorRecord(json);
    if (!keeping) continue;
    if (bytes >= maxBytes) {
      overCap++;
      continue;
    }
    let redacted =
      json === undefined
        ? redactLine(redactor, line, counts)
        : redactRecord(redactor, json, counts);
    if (redacted.length > maxLineLength) {
      redacted = `${redacted.slice(0, maxLineLength)} [line cut]`;
      truncated = true;
    }
    const size = Buffer.byteLength(redacted, 'utf8') + 1;
    if (bytes + size > maxBytes) {
      bytes = maxBytes;
      overCap++;
      continue;
    }
    bytes += size;
    out.push(redacted);
    kept++;
  }
  if (overCap > 0) {
    truncated = true;
    out.push(
      `[${String(overCap)} more error lines left out to stay under ${String(maxBytes)} bytes]`,
    );
  }
  return {
    text: out.join('\n'),
    lines: lines.length,
    kept,
    dropped: lines.length - kept,
    truncated,
    redacted: counts,
  };
}

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

let logRedactor: Redactor | undefined;
function defaultLogRedactor(): Redactor {
  return (logRedactor ??= createRedactor());
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  const start = line.search(/\S/);
  if (start === -1 || line.charCodeAt(start) !== 0x7b) return undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isErrorText(line: string): boolean {
  const head = line.length > LEVEL_WINDOW ? line.slice(0, LEVEL_WINDOW) : line;
  return TEXT_LEVEL.test(head) || TAGGED_LEVEL.test(head) || LOGFMT_LEVEL.test(head);
}

function isErrorRecord(record: Record<string, unknown>): boolean {
  for (const field of ['level', 'severity', 'levelname', 'log.level', 'lvl', 'loglevel']) {
    const value = record[field];
    if (typeof value === 'number') return value >= NUMERIC_ERROR_LEVEL;
    if (typeof value === 'string') return ERROR_NAMES.has(value.toLowerCase());
  }
  const log = record.log;
  if (typeof log === 'object' && log !== null) {
    const level = (log as Record<string, unknown>).level;
    if (typeof level === 'string') return ERROR_NAMES.has(level.toLowerCase());
  }
  return false;
}

function redactLine(redactor: Redactor, line: string, counts: Record<string, number>): string {
  return merge(redactor.textWithReport(line), counts);
}

/** JSON lines are parsed and redacted value by value, never as serialised text. */
function redactRecord(
  redactor: Redactor,
  record: Record<string, unknown>,
  counts: Record<string, number>,
): string {
  return JSON.stringify(merge(redactor.withReport(record), counts));
}

function merge<T>(
  report: { value: T; counts: Record<string, number> },
  into: Record<string, number>,
): T {
  for (const [category, count] of Object.entries(report.counts)) {
    into[category] = (into[category] ?? 0) + count;
  }
  return report.value;
}
