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

const UNITS: Readonly<Record<string, string>> = {
  string: ' characters',
  array: ' items',
  set: ' items',
  file: ' bytes',
};

function bound(
  origin: string,
  limit: number | bigint,
  inclusive: boolean | undefined,
  exact: boolean | undefined,
  side: 'max' | 'min',
): string {
  const unit = UNITS[origin] ?? '';
  const value = String(limit);
  if (exact === true) return `Must be exactly ${value}${unit}`;
  if (unit !== '') {
    return side === 'max' ? `Must be at most ${value}${unit}` : `Must be at least ${value}${unit}`;
  }
  const relation =
    side === 'max' ? (inclusive === false ? '<' : '<=') : inclusive === false ? '>' : '>=';
  return `Must be ${relation} ${value}`;
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
      return [{ path, code: issue.code, message: `Expected ${issue.expected}` }];
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
          message: SAFE_KEY.test(issue.format) ? `Invalid ${issue.format}` : 'Invalid format',
        },
      ];
    case 'not_multiple_of':
      return [{ path, code: issue.code, message: `Must be a multiple of ${issue.divisor}` }];
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: pathOf(location, [...issue.path, key]),
        code: issue.code,
        message: 'Unknown field',
      }));
    case 'invalid_union':
      return [{ path, code: issue.code, message: 'Does not match any allowed shape' }];
    case 'invalid_key':
      return [{ path, code: issue.code, message: 'Invalid key' }];
    case 'invalid_element':
      return [{ path, code: issue.code, message: 'Invalid element' }];
    case 'invalid_value':
      return [{ path, code: issue.code, message: 'Not an allowed value' }];
    case 'custom':
      return [{ path, code: issue.code, message: 'Invalid value' }];
  }
}
