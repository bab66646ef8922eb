/**
 * Every built-in redaction category. `key` is a value under a secret-bearing
 * key name in a structure (`{password: ...}`); `assignment` is the same inside
 * text (`password=...`, `"token": "..."`, `Authorization: ...`); the others
 * are patterns found inside strings. `phone`, `iban`, `ssn` and `dob` are
 * personal data rather than secrets: switch them off where that data is the
 * point of the text.
 */
export const REDACTION_CATEGORIES = [
  'key',
  'assignment',
  'email',
  'bearer',
  'jwt',
  'ip',
  'api_key',
  'private_key',
  'url_credentials',
  'card',
  'phone',
  'iban',
  'ssn',
  'dob',
] as const;

export type RedactionCategory = (typeof REDACTION_CATEGORIES)[number];

/**
 * Which categories to redact: `'all'`, an explicit list (only these), or
 * switches over the full set (`{ ip: false }` = everything except IP addresses).
 */
export type CategorySelection =
  'all' | readonly RedactionCategory[] | { readonly [C in RedactionCategory]?: boolean };

/** Redaction counts per category (built-in or custom); only categories that redacted something appear. */
export type RedactionCounts = Record<string, number>;

/** The marker that replaces a value under a secret-bearing key, in a structure or in text. */
export const KEY_MARKER = '[REDACTED]';

/** The marker that replaces a match of `category`. */
export function categoryMarker(category: string): string {
  return `[REDACTED:${category}]`;
}
