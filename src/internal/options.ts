import { BulwarkConfigError } from '../errors.js';
import { docsUrl } from './docs-url.js';

/** Mapping every key of an options type to `true`, so the compiler keeps the list whole. */
export type KnownKeys<T> = { readonly [K in keyof Required<T>]: true };

interface NumberRule<D> {
  min?: number;
  max?: number;
  integer?: boolean;
  default: D;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return 'a string';
  return typeof value === 'object' ? 'an object' : typeof value;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      row[j] = Math.min(
        current + 1,
        (row[j - 1] ?? 0) + 1,
        previous + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      previous = current;
    }
  }
  return row[b.length] ?? 0;
}

const RATE_LIMIT_HINTS: Readonly<Record<string, string>> = {
  max: 'Did you mean `limit`? (express-rate-limit calls it `max`)',
  keyGenerator: 'Did you mean `keyBy`? (`ip`, `apiKey`, `user` or a function of the request)',
  message:
    'bulwark answers 429 with a `rate_limit.exceeded` problem; change its rendering in `errorHandler()`',
  handler:
    'bulwark answers 429 with a `rate_limit.exceeded` problem; change its rendering in `errorHandler()`',
  statusCode: 'bulwark always answers 429 `rate_limit.exceeded` (the status its clients retry on)',
};

/**
 * Option names users bring from the libraries a factory replaces
 * (express-rate-limit, helmet, express.json, cors): scope -> name -> hint,
 * each with the page that explains the bulwark way.
 */
const MIGRATION_HINTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  rateLimit: RATE_LIMIT_HINTS,
  loginRateLimit: RATE_LIMIT_HINTS,
  securityHeaders: {
    hsts: 'Did you mean `hstsMaxAge`, `hstsIncludeSubDomains` and `hstsPreload`? (helmet nests them under `hsts`)',
    strictTransportSecurity:
      'Did you mean `hstsMaxAge`, `hstsIncludeSubDomains` and `hstsPreload`?',
  },
  bodyLimits: {
    limit: 'Did you mean `maxBytes`? (a number of bytes; express.json() takes `limit: "100kb"`)',
    type: 'Did you mean `types`? (a list of media types)',
  },
  corsPolicy: {
    origin:
      'Did you mean `origins`? (a list of exact origins, `https://*.example.com` patterns or RegExps)',
  },
};

const HINT_PAGES: Readonly<Record<string, string>> = {
  rateLimit: 'rate-limiting.md',
  loginRateLimit: 'rate-limiting.md#loginratelimitoptions',
  securityHeaders: 'headers.md#options',
  bodyLimits: 'request.md',
  corsPolicy: 'cors.md#options',
};

function migrationHint(scope: string, key: string): string | undefined {
  const hints = MIGRATION_HINTS[scope];
  if (hints === undefined || !Object.hasOwn(hints, key)) return undefined;
  const hint = hints[key];
  if (hint === undefined) return undefined;
  const page = HINT_PAGES[scope];
  return page === undefined ? ` ${hint}.` : ` ${hint}; see ${docsUrl(page)}`;
}

function suggestion(key: string, known: readonly string[]): string {
  const lower = key.toLowerCase();
  const close = known.find((k) => k.toLowerCase() === lower || editDistance(k, key) <= 2);
  return close === undefined ? '' : ` Did you mean \`${close}\`?`;
}

/**
 * Collects every problem in a factory's options and throws them together.
 * Values are checked at run time, not only by TypeScript: a JS caller or an
 * environment string can pass `'1mb'` where a number belongs.
 */
export class OptionChecker<T extends object> {
  readonly #scope: string;
  readonly #options: Record<string, unknown>;
  readonly #problems: string[] = [];

  constructor(scope: string, options: T | undefined, known: KnownKeys<T>) {
    this.#scope = scope;
    if (options === undefined) {
      this.#options = {};
      return;
    }
    const given: unknown = options;
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      this.#options = {};
      this.#problems.push(`options must be an object, got ${describe(given)}`);
      return;
    }
    this.#options = options as Record<string, unknown>;
    const names = Object.keys(known);
    for (const key of Object.keys(options)) {
      if (!Object.hasOwn(known, key)) {
        const hint = migrationHint(scope, key) ?? suggestion(key, names);
        this.#problems.push(`unknown option \`${key}\`.${hint}`);
      }
    }
  }

  /** The raw value of an option, for checks the typed helpers do not cover. */
  raw(key: keyof T & string): unknown {
    return this.#options[key];
  }

  has(key: keyof T & string): boolean {
    return this.#options[key] !== undefined;
  }

  /**
   * The key to read for an option that has a new name and an old one kept as
   * an alias: the new name unless only the old one is given. Both given is a
   * problem, since they could disagree.
   */
  renamed(current: keyof T & string, old: keyof T & string): keyof T & string {
    if (this.has(old) && this.has(current)) {
      this.#problems.push(`give \`${current}\` or its old name \`${old}\`, not both`);
    }
    return this.has(old) && !this.has(current) ? old : current;
  }

  problem(message: string): void {
    this.#problems.push(message);
  }

  number<D extends number | undefined>(key: keyof T & string, rule: NumberRule<D>): number | D {
    const value = this.#options[key];
    if (value === undefined) return rule.default;
    const where = `\`${key}\``;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.#problems.push(`${where} must be a finite number, got ${describe(value)}`);
      return rule.default;
    }
    if (rule.integer === true && !Number.isInteger(value)) {
      this.#problems.push(`${where} must be an integer, got ${String(value)}`);
    }
    if (rule.min !== undefined && value < rule.min) {
      this.#problems.push(`${where} must be >= ${String(rule.min)}, got ${String(value)}`);
    }
    if (rule.max !== undefined && value > rule.max) {
      this.#problems.push(`${where} must be <= ${String(rule.max)}, got ${String(value)}`);
    }
    return value;
  }

  string<D extends string | undefined>(
    key: keyof T & string,
    fallback: D,
    rule: { nonEmpty?: boolean; maxLength?: number; pattern?: RegExp } = {},
  ): string | D {
    const value = this.#options[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'string') {
      this.#problems.push(`\`${key}\` must be a string, got ${describe(value)}`);
      return fallback;
    }
    if (rule.nonEmpty === true && value.trim() === '') {
      this.#problems.push(`\`${key}\` must not be empty`);
    }
    if (rule.maxLength !== undefined && value.length > rule.maxLength) {
      this.#problems.push(`\`${key}\` must be at most ${String(rule.maxLength)} characters`);
    }
    if (rule.pattern !== undefined && !rule.pattern.test(value)) {
      this.#problems.push(`\`${key}\` has an invalid format (expected ${String(rule.pattern)})`);
    }
    return value;
  }

  boolean<D extends boolean | undefined>(key: keyof T & string, fallback: D): boolean | D {
    const value = this.#options[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.#problems.push(`\`${key}\` must be true or false, got ${describe(value)}`);
      return fallback;
    }
    return value;
  }

  oneOf<const V extends string, D extends V | undefined>(
    key: keyof T & string,
    values: readonly V[],
    fallback: D,
  ): V | D {
    const value = this.#options[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
      const shown = typeof value === 'string' ? `'${value}'` : describe(value);
      this.#problems.push(
        `\`${key}\` must be one of ${values.map((v) => `'${v}'`).join(', ')}, got ${shown}`,
      );
      return fallback;
    }
    return value as V;
  }

  // The caller names the function type it expects; only "is a function" can be checked at run time.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  func<F extends (...args: never[]) => unknown>(key: keyof T & string): F | undefined {
    const value = this.#options[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'function') {
      this.#problems.push(`\`${key}\` must be a function, got ${describe(value)}`);
      return undefined;
    }
    return value as F;
  }

  stringArray(
    key: keyof T & string,
    fallback: readonly string[],
    rule: { nonEmpty?: boolean } = {},
  ): readonly string[] {
    const value = this.#options[key];
    if (value === undefined) return fallback;
    if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
      this.#problems.push(`\`${key}\` must be an array of strings, got ${describe(value)}`);
      return fallback;
    }
    if (rule.nonEmpty === true && value.length === 0) {
      this.#problems.push(`\`${key}\` must list at least one entry`);
    }
    return value;
  }

  /**
   * Throws one `BulwarkConfigError` naming every problem found. Given the
   * required values, returns them typed as present: a factory records a problem
   * for each one missing, so none can be undefined once no problem was found.
   */
  done(): void;
  done<R extends Record<string, unknown>>(
    required: R,
  ): { [K in keyof R]: Exclude<R[K], undefined> };
  done<R extends Record<string, unknown>>(required?: R): R | undefined {
    if (this.#problems.length > 0) throw new BulwarkConfigError(this.#scope, this.#problems);
    if (required === undefined) return undefined;
    for (const [name, value] of Object.entries(required)) {
      if (value === undefined) {
        throw new Error(
          `${this.#scope}: \`${name}\` is missing but no problem was recorded for it`,
        );
      }
    }
    return required;
  }
}
