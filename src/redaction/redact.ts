import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { defineOwn } from '../internal/own.js';
import {
  categoryMarker,
  KEY_MARKER,
  REDACTION_CATEGORIES,
  type CategorySelection,
  type RedactionCategory,
  type RedactionCounts,
} from './categories.js';
import { KeyMatcher, normaliseKey } from './keys.js';
import { TextScanner, type CompiledPattern } from './scanner.js';

/** A pattern of your own; matches become `[REDACTED:<category>]`. */
export interface RedactionPattern {
  /** Lower-case name used in the marker and in counts, e.g. `employee_id`. */
  readonly category: string;
  /**
   * Run over every string (the `g` flag is added). Your expression, your
   * complexity: keep it free of nested quantifiers so it stays linear.
   */
  readonly pattern: RegExp;
}

export interface RedactOptions {
  /** Which built-in categories to redact. Default `'all'`; `{ ip: false }` keeps IP addresses. */
  categories?: CategorySelection;
  /** More secret-bearing key names, matched whole after normalising case, `-`, `_` and `.`. */
  keys?: readonly string[];
  /** More patterns, applied to every string before the built-in ones. */
  patterns?: readonly RedactionPattern[];
  /** Nesting deeper than this becomes `[MaxDepth]` (1-1000, default 100). */
  maxDepth?: number;
}

/** What `redactWithReport` returns: the redacted value and how many redactions each category made. */
export interface RedactionReport<T = unknown> {
  readonly value: T;
  readonly counts: RedactionCounts;
}

/** A redactor compiled once from its options; call it as `redact`. */
export interface Redactor {
  (value: unknown): unknown;
  /** Redacts one string. */
  text(text: string): string;
  /** Redacts and counts redactions per category (counting costs nothing when this is not used). */
  withReport(value: unknown): RedactionReport;
  /** Redacts one string and counts redactions per category. */
  textWithReport(text: string): RedactionReport<string>;
}

const KNOWN: KnownKeys<RedactOptions> = {
  categories: true,
  keys: true,
  patterns: true,
  maxDepth: true,
};

const CUSTOM_CATEGORY = /^[a-z][a-z0-9_]{0,31}$/;
const MAX_DEPTH_MARKER = '[MaxDepth]';
const CIRCULAR_MARKER = '[Circular]';
const UNREADABLE_MARKER = '[Unreadable]';

/**
 * Compiles options into a redactor: category switches, key rules and custom
 * patterns are checked and prepared here, so each call does only the walk.
 * @example
 * const forEvents = createRedactor({ categories: { ip: false } });
 * logger.info(forEvents(record));
 */
export function createRedactor(options?: RedactOptions): Redactor {
  const { keys, scanner, maxDepth } = compile(options);
  const walker = new Walker(keys, scanner, maxDepth);

  const redactor = function redactorFunction(value: unknown): unknown {
    return walker.walk(value, undefined);
  } as Redactor;
  redactor.text = function redactText(text: string): string {
    return walker.text(text, undefined);
  };
  redactor.withReport = function redactWithReport(value: unknown): RedactionReport {
    const counts: RedactionCounts = {};
    return { value: walker.walk(value, counts), counts };
  };
  redactor.textWithReport = function redactTextWithReport(text: string): RedactionReport<string> {
    const counts: RedactionCounts = {};
    return { value: walker.text(text, counts), counts };
  };
  return redactor;
}

/** The text engine for these options, as `createRedactor` builds it: for the stream redactor. */
export function createTextScanner(options?: RedactOptions): TextScanner {
  return compile(options).scanner;
}

/** Options checked and prepared: the key rules (when the `key` category is on), the scanner and the depth. */
function compile(options: RedactOptions | undefined): {
  keys: KeyMatcher | undefined;
  scanner: TextScanner;
  maxDepth: number;
} {
  const check = new OptionChecker<RedactOptions>('redact', options, KNOWN);
  const enabled = selectCategories(check.raw('categories'), check);
  const extraKeys = check.stringArray('keys', []);
  for (const key of extraKeys) {
    if (normaliseKey(key) === '') check.problem(`\`keys\` has an empty key name: '${key}'`);
  }
  const custom = compilePatterns(check.raw('patterns'), check);
  const maxDepth = check.number('maxDepth', { min: 1, max: 1000, integer: true, default: 100 });
  check.done();
  const keys = new KeyMatcher(extraKeys);
  return {
    keys: enabled.has('key') ? keys : undefined,
    scanner: new TextScanner(enabled, keys, custom),
    maxDepth,
  };
}

function selectCategories(
  raw: unknown,
  check: OptionChecker<RedactOptions>,
): ReadonlySet<RedactionCategory> {
  const all = new Set<RedactionCategory>(REDACTION_CATEGORIES);
  if (raw === undefined || raw === 'all') return all;
  const known = (name: string): name is RedactionCategory =>
    (REDACTION_CATEGORIES as readonly string[]).includes(name);
  const unknown = (name: string): void => {
    check.problem(
      `\`categories\` names an unknown category '${name}' (known: ${REDACTION_CATEGORIES.join(', ')})`,
    );
  };
  if (Array.isArray(raw)) {
    const chosen = new Set<RedactionCategory>();
    for (const name of raw as unknown[]) {
      if (typeof name === 'string' && known(name)) chosen.add(name);
      else unknown(String(name));
    }
    return chosen;
  }
  if (typeof raw === 'object' && raw !== null) {
    for (const [name, on] of Object.entries(raw)) {
      if (!known(name)) unknown(name);
      else if (typeof on !== 'boolean')
        check.problem(`\`categories.${name}\` must be true or false`);
      else if (!on) all.delete(name);
    }
    return all;
  }
  check.problem("`categories` must be 'all', an array of category names or an object of switches");
  return all;
}

function compilePatterns(raw: unknown, check: OptionChecker<RedactOptions>): CompiledPattern[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    check.problem('`patterns` must be an array of { category, pattern }');
    return [];
  }
  const compiled: CompiledPattern[] = [];
  (raw as unknown[]).forEach((entry, index) => {
    const where = `\`patterns[${String(index)}]\``;
    if (typeof entry !== 'object' || entry === null) {
      check.problem(`${where} must be { category, pattern }`);
      return;
    }
    const { category, pattern } = entry as Record<string, unknown>;
    if (typeof category !== 'string' || !CUSTOM_CATEGORY.test(category)) {
      check.problem(`${where}.category must match ${String(CUSTOM_CATEGORY)}`);
      return;
    }
    if (!(pattern instanceof RegExp)) {
      check.problem(`${where}.pattern must be a RegExp`);
      return;
    }
    const flags = pattern.flags.replace('y', '');
    const regex = new RegExp(pattern.source, flags.includes('g') ? flags : `${flags}g`);
    if (new RegExp(pattern.source, flags.replace('g', '')).test('')) {
      check.problem(`${where}.pattern matches the empty string`);
      return;
    }
    compiled.push({ category, regex, marker: categoryMarker(category) });
  });
  return compiled;
}

interface Walk {
  readonly counts: RedactionCounts | undefined;
  /** Objects on the current path: its length is the depth, and a reference back into it is a cycle. */
  readonly path: object[];
  /** Whether `Object.prototype` has enumerable members (prototype pollution), checked once per call. */
  readonly inheritedEnumerables: boolean;
}

/**
 * A shallow copy of a plain object found `depth` levels down, with one spread
 * per depth (the last serves every depth below it). V8 copies `{ ...value }`
 * fast only while that spread has met at most four object shapes; past that it
 * takes a generic copy, about five times slower. One request-log record's
 * copies (the record, `req`, `req.headers`, `req.body`, `res.headers`) are
 * already more shapes than that, but few at each depth. A spread per depth
 * took a tenth of the instructions off a key-only redaction and serialisation
 * of such a record (bench/README.md, "Redaction").
 */
function copyAtDepth(value: Record<string, unknown>, depth: number): Record<string, unknown> {
  switch (depth) {
    case 0:
      return { ...value };
    case 1:
      return { ...value };
    case 2:
      return { ...value };
    default:
      return { ...value };
  }
}

function hasInheritedEnumerables(): boolean {
  return Object.keys(Object.prototype).length > 0;
}

/** The structure walk: copies only the branches that change, so untouched subtrees are shared. */
class Walker {
  readonly #keys: KeyMatcher | undefined;
  readonly #scanner: TextScanner | undefined;
  readonly #maxDepth: number;

  constructor(keys: KeyMatcher | undefined, scanner: TextScanner, maxDepth: number) {
    this.#keys = keys;
    this.#scanner = scanner.idle ? undefined : scanner;
    this.#maxDepth = maxDepth;
  }

  text(text: string, counts: RedactionCounts | undefined): string {
    if (typeof text !== 'string') throw new TypeError('redactText expects a string');
    return this.#scanner === undefined ? text : this.#scanner.scan(text, counts);
  }

  walk(value: unknown, counts: RedactionCounts | undefined): unknown {
    // Per call, not per instance: a toJSON may call the same redactor again.
    return this.#value(value, {
      counts,
      path: [],
      inheritedEnumerables: hasInheritedEnumerables(),
    });
  }

  /** Kept small so that V8 inlines it into the loops, which call it for every member. */
  #value(value: unknown, walk: Walk): unknown {
    if (typeof value === 'string') {
      return this.#scanner === undefined ? value : this.#scanner.scan(value, walk.counts);
    }
    return typeof value === 'object' && value !== null ? this.#node(value, walk) : value;
  }

  #node(value: object, walk: Walk): unknown {
    const path = walk.path;
    if (path.length >= this.#maxDepth) return MAX_DEPTH_MARKER;
    if (path.includes(value)) return CIRCULAR_MARKER;
    path.push(value);
    let result: unknown;
    try {
      result = this.#object(value, walk);
    } catch {
      // A proxy or exotic object that throws where no data getter would.
      result = UNREADABLE_MARKER;
    }
    path.pop();
    return result;
  }

  #object(value: object, walk: Walk): unknown {
    // Before the prototype: V8 reads a prototype through a runtime call, and
    // telling an array costs less.
    if (Array.isArray(value)) return this.#array(value, walk);
    const proto: unknown = Object.getPrototypeOf(value);
    // Plain objects are data (parsed JSON, literals): their toJSON, if any, is not
    // looked up, which keeps the commonest case free of a slow missing-member lookup.
    if (proto === Object.prototype || proto === null) {
      return this.#plain(value as Record<string, unknown>, walk);
    }
    if (value instanceof Date || value instanceof RegExp) return value;
    if (Buffer.isBuffer(value)) return `[Buffer ${String(value.length)} bytes]`;
    if (ArrayBuffer.isView(value)) {
      return `[${value.constructor.name} ${String(value.byteLength)} bytes]`;
    }
    if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
      return `[${value.constructor.name} ${String(value.byteLength)} bytes]`;
    }
    if (value instanceof Error) return this.#error(value, walk);
    if (value instanceof Map) return this.#map(value, walk);
    if (value instanceof Set) return this.#set(value, walk);
    const toJSON = readProperty(value, 'toJSON');
    return typeof toJSON === 'function'
      ? this.#serialised(value, toJSON, walk)
      : this.#record(value as Record<string, unknown>, walk);
  }

  /**
   * The hot path: a plain object. `for...in` lets V8 read members through its
   * enum cache, much faster than `Object.keys` and a keyed load; while someone
   * has added enumerable members to `Object.prototype`, `for...in` would see
   * them too, so `#record` (own members only) takes over. The first change
   * copies the object with a spread (V8's fast clone, see `copyAtDepth`) and later changes
   * overwrite members of the copy; a throwing getter hands the object to
   * `#record`, which marks that member unreadable.
   */
  #plain(value: Record<string, unknown>, walk: Walk): unknown {
    if (walk.inheritedEnumerables) return this.#record(value, walk);
    const scanner = this.#scanner;
    let out: Record<string, unknown> | undefined;
    for (const name in value) {
      let child: unknown;
      try {
        child = value[name];
      } catch {
        return this.#record(value, walk);
      }
      const redacted = this.#member(name, child, walk);
      const key = scanner === undefined ? name : scanner.scan(name, walk.counts);
      if (redacted === child && key === name) continue;
      if (out === undefined) {
        try {
          // The path holds this object too: the root is at depth 0.
          out = copyAtDepth(value, walk.path.length - 1);
        } catch {
          return this.#record(value, walk);
        }
      }
      if (key !== name) Reflect.deleteProperty(out, name);
      setMember(out, key, redacted);
    }
    return out ?? value;
  }

  /** What JSON.stringify would write for an object with a toJSON method. */
  #serialised(value: object, toJSON: unknown, walk: Walk): unknown {
    let serialised: unknown;
    try {
      serialised = (toJSON as () => unknown).call(value);
    } catch {
      return UNREADABLE_MARKER;
    }
    return serialised === value
      ? this.#record(value as Record<string, unknown>, walk)
      : this.#value(serialised, walk);
  }

  /** Own enumerable string keys, as JSON.stringify sees them, copied into a plain object. */
  #record(value: Record<string, unknown>, walk: Walk): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(value)) {
      const redacted = this.#member(name, readProperty(value, name), walk);
      setMember(
        out,
        this.#scanner === undefined ? name : this.#scanner.scan(name, walk.counts),
        redacted,
      );
    }
    return out;
  }

  #member(name: string, child: unknown, walk: Walk): unknown {
    if (this.#keys !== undefined && this.#keys.matches(name) && isRedactable(child)) {
      if (walk.counts !== undefined) walk.counts.key = (walk.counts.key ?? 0) + 1;
      return KEY_MARKER;
    }
    return this.#value(child, walk);
  }

  #array(value: readonly unknown[], walk: Walk): unknown {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const child = value[i];
      const redacted = this.#value(child, walk);
      if (out !== undefined) out.push(redacted);
      else if (redacted !== child) {
        // Through Array.prototype: an array's own prototype may have been replaced.
        out = Array.prototype.slice.call(value, 0, i) as unknown[];
        out.push(redacted);
      }
    }
    return out ?? value;
  }

  #map(value: Map<unknown, unknown>, walk: Walk): unknown {
    let changed = false;
    const out = new Map<unknown, unknown>();
    for (const [key, child] of value) {
      const redacted =
        typeof key === 'string' ? this.#member(key, child, walk) : this.#value(child, walk);
      const redactedKey = this.#value(key, walk);
      if (redacted !== child || redactedKey !== key) changed = true;
      out.set(redactedKey, redacted);
    }
    return changed ? out : value;
  }

  #set(value: Set<unknown>, walk: Walk): unknown {
    let changed = false;
    const out = new Set<unknown>();
    for (const child of value) {
      const redacted = this.#value(child, walk);
      if (redacted !== child) changed = true;
      out.add(redacted);
    }
    return changed ? out : value;
  }

  /** Errors become plain objects, because JSON.stringify drops their name, message and stack. */
  #error(value: Error, walk: Walk): unknown {
    const plain: Record<string, unknown> = {
      name: readProperty(value, 'name'),
      message: readProperty(value, 'message'),
      stack: readProperty(value, 'stack'),
    };
    for (const name of Object.keys(value)) plain[name] = readProperty(value, name);
    if ('cause' in value) plain.cause = readProperty(value, 'cause');
    if (value instanceof AggregateError) plain.errors = readProperty(value, 'errors');
    return this.#record(plain, walk);
  }
}

/** A value under a secret-bearing name is replaced whole; null, undefined and booleans carry no secret. */
function isRedactable(child: unknown): boolean {
  return (
    child !== null && child !== undefined && typeof child !== 'boolean' && child !== KEY_MARKER
  );
}

function readProperty(value: object, name: string): unknown {
  try {
    return (value as Record<string, unknown>)[name];
  } catch {
    return UNREADABLE_MARKER;
  }
}

function setMember(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') defineOwn(out, key, value);
  else out[key] = value;
}

let defaultRedactor: Redactor | undefined;
/**
 * Redactors by the options object they were compiled from, for the calls that
 * take options each time (`redact(value, options)`, `guardOutbound(payload,
 * { redaction })`). Compiling builds the key rules and about ninety provider
 * formats: measured at about 600 µs of CPU against 3-6 µs to redact a
 * two-message prompt (bench/README.md, "Devices"), so without this cache a
 * guarded LLM call would cost more than the rest of its request. A WeakMap, so
 * options objects made per call are collected with their redactor.
 */
const redactorsByOptions = new WeakMap<RedactOptions, Redactor>();

/** The redactor for these options, compiled on first use and cached per options object. */
export function redactorFor(options: RedactOptions | undefined): Redactor {
  if (options === undefined) return (defaultRedactor ??= createRedactor());
  let redactor = redactorsByOptions.get(options);
  if (redactor === undefined) {
    redactor = createRedactor(options);
    redactorsByOptions.set(options, redactor);
  }
  return redactor;
}

/**
 * Returns a redacted copy of `value`: values under secret-bearing keys become
 * `[REDACTED]`, secrets and personal data inside strings become
 * `[REDACTED:<category>]`. The input is never mutated; unchanged branches are
 * shared with it. Options are compiled once per options object.
 * @example redact({ user: 'ann@example.com', password: 'x' })
 * // { user: '[REDACTED:email]', password: '[REDACTED]' }
 */
export function redact(value: unknown, options?: RedactOptions): unknown {
  return redactorFor(options)(value);
}

/**
 * Redacts one string.
 * @example redactText('curl -H "Authorization: Bearer abc.def.ghi-123"')
 */
export function redactText(text: string, options?: RedactOptions): string {
  return redactorFor(options).text(text);
}

/**
 * Like `redact`, and also counts what was redacted per category (never the values).
 * @example
 * const { value, counts } = redactWithReport(prompt);
 * // Pairs, not `{ api_key: 1 }`: events pass redact(), which blanks members named like secrets.
 * const redacted = Object.entries(counts).map(([category, count]) => ({ category, count }));
 * securityEvents.emit('llm.redacted', req, { reason: 'outbound', redacted });
 */
export function redactWithReport(value: unknown, options?: RedactOptions): RedactionReport {
  return redactorFor(options).withReport(value);
}
