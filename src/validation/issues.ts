import type { $ZodIssue } from 'zod/v4/core';

/** One entry of a `validation.failed` problem's `errors` list. */
export interface ValidationIssue {
  /** Where the problem is, e.g. `body.items.0.name`; untrusted key names become `*`. */
  readonly path: string;
  /** zod's issue code, e.g. `invalid_type`, `too_big`, `unrecognized_keys`. */
  readonly code: string;
  /** Built by bulwark from the schema, never from the input or zod's own message. */
  readonly message: string;
}

// Key names can be client input (unknown keys, record keys) and paths reach the
// event log: only short, plain names are reflected, anything else becomes `*`.
const SAFE_KEY = /^[A-Za-z0-9_$-]{1,32}$/;

function segment(key: PropertyKey): string {
  if (typeof key === 'number') return String(key);
  if (typeof key === 'string' && SAFE_KEY.test(key)) return key;
  return '*';
}

function pathOf(location: string, path: readonly PropertyKey[]): string {
  return [location, ...path.map(segment)].join('.');
}

const UNITS: Readonly<Record<string, readonly [string, string]>> = {
  string: [' character', ' characters'],
  array: [' item', ' items'],
  set: [' item', ' items'],
  file: [' byte', ' bytes'],
};

const FORMATS: Readonly<Record<string, string>> = {
  regex: 'Does not match the required pattern.',
  email: 'Must be a valid email address.',
  url: 'Must be a valid URL.',
  uuid: 'Must be a valid UUID.',
  datetime: 'Must be an ISO 8601 date and time.',
  date: 'Must be an ISO 8601 date.',
};

/** "a number", "an object": messages read as sentences. */
function withArticle(noun: string): string {
  return /^[aeiou]/i.test(noun) ? `an ${noun}` : `a ${noun}`;
}

function bound(
  origin: string,
  limit: number | bigint,
  inclusive: boolean | undefined,
  exact: boolean | undefined,
  side: 'max' | 'min',
): string {
  const units = UNITS[origin];
  const value = String(limit);
  const unit = units === undefined ? '' : value === '1' ? units[0] : units[1];
  if (exact === true) return `Must be exactly ${value}${unit}.`;
  if (units !== undefined || inclusive !== false) {
    return side === 'max'
      ? `Must be at most ${value}${unit}.`
      : `Must be at least ${value}${unit}.`;
  }
  return side === 'max' ? `Must be less than ${value}.` : `Must be greater than ${value}.`;
}

/**
 * Turns zod issues into public entries. zod's own messages are never used:
 * custom refinements and error maps can interpolate the input, and messages
 * such as "expected one of ..." can reveal values the schema compares against.
 */
export function publicIssues(location: string, issue: $ZodIssue): ValidationIssue[] {
  const path = pathOf(location, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      return [{ path, code: issue.code, message: `Expected ${withArticle(issue.expected)}.` }];
    case 'too_big':
      return [
        {
          path,
          code: issue.code,
          message: bound(issue.origin, issue.maximum, issue.inclusive, issue.exact, 'max'),
        },
      ];
    case 'too_small':
      return [
        {
          path,
          code: issue.code,
          message: bound(issue.origin, issue.minimum, issue.inclusive, issue.exact, 'min'),
        },
      ];
    case 'invalid_format':
      return [
        {
          path,
          code: issue.code,
          message:
            (Object.hasOwn(FORMATS, issue.format) ? FORMATS[issue.format] : undefined) ??
            (SAFE_KEY.test(issue.format)
              ? `Must be a valid ${issue.format}.`
              : 'Does not have the required format.'),
        },
      ];
    case 'not_multiple_of':
      return [
        { path, code: issue.code, message: `Must be a multiple of ${String(issue.divisor)}.` },
      ];
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: pathOf(location, [...issue.path, key]),
        code: issue.code,
        message: 'This field is not allowed.',
      }));
    case 'invalid_union':
      return [{ path, code: issue.code, message: 'Does not match any allowed shape.' }];
    case 'invalid_key':
      return [{ path, code: issue.code, message: 'Has a key that is not allowed.' }];
    case 'invalid_element':
      return [{ path, code: issue.code, message: 'Has an element that is not allowed.' }];
    case 'invalid_value':
      return [{ path, code: issue.code, message: 'Must be one of the allowed values.' }];
    case 'custom':
      return [{ path, code: issue.code, message: 'The value is not valid.' }];
  }
}
