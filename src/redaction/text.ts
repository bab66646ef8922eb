import type { RedactionCategory } from './categories.js';

/*
 * What every matcher shares: character classes as bit masks over a table with
 * one entry per UTF-16 code unit (non-ASCII ones are all zero, so a lookup
 * needs no range check), bounded run scans and the result type.
 */

export const WORD = 1 << 0; // [A-Za-z0-9_]
export const HEX = 1 << 1;
export const DIGIT = 1 << 2;
export const B64URL = 1 << 3; // [A-Za-z0-9_-]
export const LOCAL = 1 << 4; // e-mail local part (the common subset of RFC 5322)
export const DOMAIN = 1 << 5; // [A-Za-z0-9.-]
export const USERINFO = 1 << 6; // RFC 3986 userinfo
export const TOKEN68 = 1 << 7; // RFC 9110 token68 without the trailing '='
export const ALNUM = 1 << 8;
export const UPPER = 1 << 9;
export const LOWER = 1 << 10;
export const KEYNAME = 1 << 11; // [A-Za-z0-9_.-]
export const IPV6 = 1 << 12; // [0-9A-Fa-f:.]
export const SPACE_BIT = 1 << 13;
export const KEY_BODY = 1 << 14; // a private key's body: base64, line breaks, headers, escaped newlines
export const LOWER_HEX = 1 << 15; // [0-9a-f]
export const BASE64 = 1 << 16; // [A-Za-z0-9+/=]
export const WHITE = 1 << 17; // space, tab, CR, LF
export const DOTS = 1 << 18; // '.', for alphabets that allow it
export const DASHES = 1 << 19; // '-', for alphabets that allow it

const CLASS = new Uint32Array(0x10000);
function mark(chars: string, bit: number): void {
  for (let i = 0; i < chars.length; i++) {
    const code = chars.charCodeAt(i);
    CLASS[code] = (CLASS[code] ?? 0) | bit;
  }
}
const LOWERS = 'abcdefghijklmnopqrstuvwxyz';
const UPPERS = LOWERS.toUpperCase();
export const DIGITS = '0123456789';
const ALNUMS = LOWERS + UPPERS + DIGITS;
mark(ALNUMS + '_', WORD);
mark(DIGITS + 'abcdefABCDEF', HEX);
mark(DIGITS, DIGIT);
mark(ALNUMS + '_-', B64URL);
mark(ALNUMS + '._%+-', LOCAL);
mark(ALNUMS + '.-', DOMAIN);
mark(ALNUMS + "-._~!$&'()*+,;=:%", USERINFO);
mark(ALNUMS + '-._~+/', TOKEN68);
mark(ALNUMS, ALNUM);
mark(UPPERS, UPPER);
mark(LOWERS, LOWER);
mark(ALNUMS + '_.-', KEYNAME);
mark(DIGITS + 'abcdefABCDEF:.', IPV6);
mark(' ', SPACE_BIT);
mark(ALNUMS + '+/=\r\n\t :,-\\', KEY_BODY);
mark(DIGITS + 'abcdef', LOWER_HEX);
mark(ALNUMS + '+/=', BASE64);
mark(' \t\r\n', WHITE);
mark('.', DOTS);
mark('-', DASHES);

export function is(code: number, bit: number): boolean {
  // `& 0xffff` keeps every lookup an in-range integer index: past the end of a string
  // `charCodeAt` gives NaN, and one NaN key would turn this (inlined everywhere) load generic.
  return ((CLASS[code & 0xffff] ?? 0) & bit) !== 0;
}

/** The end of the run of `bit` characters from `from`, looking at no more than `max` of them. */
export function skip(s: string, from: number, bit: number, max = Infinity): number {
  const limit = Math.min(s.length, from + max);
  let j = from;
  while (j < limit && is(s.charCodeAt(j), bit)) j++;
  return j;
}

export const AT = 0x40;
export const COLON = 0x3a;
export const EQUALS = 0x3d;
export const DASH = 0x2d;
export const DOT = 0x2e;
export const SLASH = 0x2f;
export const SPACE = 0x20;
export const TAB = 0x09;
export const NEWLINE = 0x0a;
export const RETURN = 0x0d;
export const QUOTE = 0x22;
export const APOSTROPHE = 0x27;
export const BACKSLASH = 0x5c;
export const UNDERSCORE = 0x5f;
export const PLUS = 0x2b;
export const OPEN_PAREN = 0x28;
export const CLOSE_PAREN = 0x29;
export const LESS = 0x3c;
export const GREATER = 0x3e;

/** A redaction found by a matcher: `s.slice(start, end)` becomes the category's marker. */
export interface Match {
  readonly start: number;
  readonly end: number;
  readonly category: RedactionCategory;
}

/**
 * What a matcher answers: a match, or (a number) where the scan may go on
 * looking, at least one past the trigger.
 */
export type Outcome = Match | number;

/**
 * One matcher: where it may start and how far it reads. A matcher reads no
 * further than `lookahead` characters past its trigger, or eight past where
 * its outcome ends (a match's end, or the number it returns), whichever is
 * further; backwards, it reads only the run of non-blank characters before the
 * trigger (and the blanks and key before an assignment's separator). The
 * stream redactor holds text back by exactly these bounds.
 */
export interface Matcher {
  readonly category: RedactionCategory;
  /** Word starts it may match at (case-sensitive, two characters or more); `digits` for any digit. */
  readonly words?: readonly string[];
  /** Non-word characters it may match at (`@`, `:`, ...), wherever they are. */
  readonly chars?: string;
  readonly lookahead: number;
  find(s: string, i: number, last: number): Outcome;
}

export function match(start: number, end: number, category: RedactionCategory): Match {
  return { start, end, category };
}

/** Compares `s` at `at` with a lower-case ASCII word, ignoring the case of letters in `s`. */
export function wordAt(s: string, at: number, lower: string): boolean {
  if (at + lower.length > s.length) return false;
  for (let k = 0; k < lower.length; k++) {
    if ((s.charCodeAt(at + k) | 0x20) !== lower.charCodeAt(k)) return false;
  }
  return true;
}

export function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
}

/** Whether `s[from, to)` has a digit, an upper- and a lower-case letter: random keys do, words rarely. */
export function hasDigitUpperLower(s: string, from: number, to: number): boolean {
  let seen = 0;
  for (let j = from; j < to && seen !== 7; j++) {
    const code = s.charCodeAt(j);
    if (is(code, DIGIT)) seen |= 1;
    else if (is(code, UPPER)) seen |= 2;
    else if (is(code, LOWER)) seen |= 4;
  }
  return seen === 7;
}

/** Whether every character of `s[from, to)` is in `bit`. */
export function all(s: string, from: number, to: number, bit: number): boolean {
  for (let j = from; j < to; j++) if (!is(s.charCodeAt(j), bit)) return false;
  return true;
}

export function isDigitAt(s: string, j: number): boolean {
  return is(s.charCodeAt(j), DIGIT);
}
