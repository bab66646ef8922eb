import { lowerAscii } from '../keys.js';
import {
  ALNUM,
  CLOSE_PAREN,
  DASH,
  DIGIT,
  DOT,
  is,
  isBlank,
  isDigitAt,
  match,
  OPEN_PAREN,
  SPACE,
  UPPER,
  WORD,
  type Matcher,
  type Outcome,
} from '../text.js';

/*
 * Personal data that is not a secret: phone numbers, IBANs, US social security
 * numbers and dates of birth. Each rule asks for the structure the data has
 * (a country code, a checksum, a label), because bare digit runs are far more
 * often ids, amounts and timestamps.
 */

function isSeparator(code: number): boolean {
  return code === SPACE || code === DASH || code === DOT;
}

/** Digits from `j` (at most `max`), or -1 when there are fewer than `min`. */
function digitsEnd(s: string, j: number, min: number, max: number): number {
  let end = j;
  while (end - j < max && isDigitAt(s, end)) end++;
  return end - j < min || isDigitAt(s, end) ? -1 : end;
}

/** Whether the number ending at `end` stands alone: no word, and no further digit group. */
function endsAlone(s: string, end: number): boolean {
  const next = s.charCodeAt(end);
  if (is(next, WORD)) return false;
  return !(isSeparator(next) && isDigitAt(s, end + 1));
}

/** Whether the number starting at `i` stands alone: not the tail of a longer dotted or dashed run. */
function startsAlone(s: string, i: number): boolean {
  const before = s.charCodeAt(i - 1);
  if (is(before, WORD) || before === 0x2b) return false;
  return !(isSeparator(before) && isDigitAt(s, i - 2));
}

const MAX_E164 = 15;

/**
 * E.164 with its `+`: a country code, then 8 to 15 digits in all, in groups
 * split by single spaces, dashes or dots (dots only when used more than once:
 * `+12345.67` is an amount) and an optional `(0)` or `(area)`.
 */
function findInternational(s: string, plus: number): Outcome {
  const first = s.charCodeAt(plus + 1);
  if (first < 0x31 || first > 0x39 || is(s.charCodeAt(plus - 1), WORD)) return plus + 1;
  let j = plus + 1;
  let digits = 0;
  let dots = 0;
  let end = j;
  while (digits <= MAX_E164) {
    const code = s.charCodeAt(j);
    if (is(code, DIGIT)) {
      digits++;
      j++;
      end = j;
    } else if (isSeparator(code) && isDigitAt(s, j + 1)) {
      if (code === DOT) dots++;
      j++;
    } else if (
      (code === OPEN_PAREN || (code === SPACE && s.charCodeAt(j + 1) === OPEN_PAREN)) &&
      digits > 0
    ) {
      const open = code === SPACE ? j + 1 : j;
      const close = digitsEnd(s, open + 1, 1, 4);
      if (close < 0 || s.charCodeAt(close) !== CLOSE_PAREN) break;
      digits += close - open - 1;
      j = close + 1;
      end = j;
      if (s.charCodeAt(j) === SPACE && isDigitAt(s, j + 1)) j++;
    } else break;
  }
  if (digits < 8 || digits > MAX_E164 || dots === 1 || !endsAlone(s, end)) return plus + 1;
  return match(plus, end, 'phone');
}

/** `(NPA) NXX-XXXX`: a North American number with its area code in parentheses. */
function findParenthesised(s: string, open: number): Outcome {
  if (is(s.charCodeAt(open - 1), WORD)) return open + 1;
  const areaEnd = digitsEnd(s, open + 1, 3, 3);
  if (areaEnd < 0 || s.charCodeAt(areaEnd) !== CLOSE_PAREN || !nanpLead(s, open + 1)) {
    return open + 1;
  }
  let j = areaEnd + 1;
  if (s.charCodeAt(j) === SPACE) j++;
  const end = subscriber(s, j);
  return end < 0 ? open + 1 : match(open, end, 'phone');
}

/** A North American area code or exchange starts with 2-9. */
function nanpLead(s: string, j: number): boolean {
  const code = s.charCodeAt(j);
  return code >= 0x32 && code <= 0x39;
}

/** `NXX-XXXX` (or with a dot or space) from `j`: the end, or -1. */
function subscriber(s: string, j: number): number {
  const exchangeEnd = digitsEnd(s, j, 3, 3);
  if (exchangeEnd < 0 || !nanpLead(s, j)) return -1;
  const sep = s.charCodeAt(exchangeEnd);
  if (!isSeparator(sep)) return -1;
  const end = digitsEnd(s, exchangeEnd + 1, 4, 4);
  return end >= 0 && endsAlone(s, end) ? end : -1;
}

/**
 * Numbers without `+`: North American `NPA-NXX-XXXX` (one separator kind,
 * optionally after `1-`), and national numbers with a trunk `0` (`020 7946
 * 0958`, `06 12 34 56 78`, `030-12345678`): 10 or 11 digits in groups of 2 to
 * 5, one separator kind. A bare run of digits is never a phone number.
 */
function findNational(s: string, i: number): Outcome {
  if (!startsAlone(s, i)) return i + 1;
  if (s.charCodeAt(i) === 0x30) return trunkNumber(s, i);
  let j = i;
  if (s.charCodeAt(i) === 0x31 && isSeparator(s.charCodeAt(i + 1)) && isDigitAt(s, i + 2))
    j = i + 2;
  const areaEnd = digitsEnd(s, j, 3, 3);
  if (areaEnd < 0 || !nanpLead(s, j)) return i + 1;
  const sep = s.charCodeAt(areaEnd);
  if (!isSeparator(sep) || (j > i && s.charCodeAt(i + 1) !== sep)) return i + 1;
  const exchangeEnd = digitsEnd(s, areaEnd + 1, 3, 3);
  if (exchangeEnd < 0 || !nanpLead(s, areaEnd + 1) || s.charCodeAt(exchangeEnd) !== sep)
    return i + 1;
  const end = digitsEnd(s, exchangeEnd + 1, 4, 4);
  return end >= 0 && endsAlone(s, end) ? match(i, end, 'phone') : i + 1;
}

function trunkNumber(s: string, i: number): Outcome {
  const second = s.charCodeAt(i + 1);
  if (second < 0x31 || second > 0x39) return i + 1;
  let j = i;
  let digits = 0;
  let groups = 0;
  let sep = 0;
  for (;;) {
    const end = digitsEnd(s, j, 2, 5);
    if (end < 0) return i + 1;
    digits += end - j;
    groups++;
    j = end;
    const next = s.charCodeAt(j);
    if (digits >= 11 || !isSeparator(next) || !isDigitAt(s, j + 1)) break;
    if (sep !== 0 && next !== sep) return i + 1;
    sep = next;
    j++;
  }
  return digits >= 10 && digits <= 11 && groups >= 2 && endsAlone(s, j)
    ? match(i, j, 'phone')
    : i + 1;
}

export const phoneMatchers: readonly Matcher[] = [
  { category: 'phone', chars: '+', lookahead: 40, find: findInternational },
  { category: 'phone', chars: '(', lookahead: 20, find: findParenthesised },
  { category: 'phone', words: ['digits'], lookahead: 24, find: findNational },
];

/**
 * US social security numbers, `AAA-GG-SSSS` (or with spaces): never area 000,
 * 666 or 9xx, group 00 or serial 0000, which the SSA never issues.
 */
function findSsn(s: string, i: number): Outcome {
  if (!startsAlone(s, i)) return i + 1;
  const areaEnd = digitsEnd(s, i, 3, 3);
  if (areaEnd < 0) return i + 1;
  const sep = s.charCodeAt(areaEnd);
  if (sep !== DASH && sep !== SPACE) return i + 1;
  const groupEnd = digitsEnd(s, areaEnd + 1, 2, 2);
  if (groupEnd < 0 || s.charCodeAt(groupEnd) !== sep) return i + 1;
  const end = digitsEnd(s, groupEnd + 1, 4, 4);
  if (end < 0 || !endsAlone(s, end)) return i + 1;
  const area = s.slice(i, areaEnd);
  if (area === '000' || area === '666' || area >= '900') return i + 1;
  if (s.slice(areaEnd + 1, groupEnd) === '00' || s.slice(groupEnd + 1, end) === '0000') {
    return i + 1;
  }
  return match(i, end, 'ssn');
}

export const ssn: Matcher = { category: 'ssn', words: ['digits'], lookahead: 16, find: findSsn };

/** IBAN lengths per country, from the SWIFT IBAN registry. */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
};

/** ISO 13616 check: the BBAN, then the country and check digits, as a number, mod 97 is 1. */
export function ibanChecksumValid(compact: string): boolean {
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (let k = 0; k < rearranged.length; k++) {
    const code = rearranged.charCodeAt(k);
    const value = code <= 0x39 ? code - 48 : code - 55;
    remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
  }
  return remainder === 1;
}

/**
 * IBANs: a country's exact length, upper-case, compact or in groups of four
 * split by single spaces, with a valid mod-97 check.
 */
function findIban(s: string, i: number): Outcome {
  const length = IBAN_LENGTHS[s.slice(i, i + 2)];
  if (length === undefined || !isDigitAt(s, i + 2) || !isDigitAt(s, i + 3)) return i + 1;
  let compact = '';
  let j = i;
  let grouped = false;
  while (compact.length < length) {
    const code = s.charCodeAt(j);
    if (is(code, UPPER | DIGIT)) {
      compact += String.fromCharCode(code);
      j++;
    } else if (
      code === SPACE &&
      compact.length % 4 === 0 &&
      compact.length > 0 &&
      is(s.charCodeAt(j + 1), UPPER | DIGIT)
    ) {
      if (!grouped && compact.length !== 4) return i + 1;
      grouped = true;
      j++;
    } else return i + 1;
  }
  if (is(s.charCodeAt(j), ALNUM) || !ibanChecksumValid(compact)) return i + 1;
  return match(i, j, 'iban');
}

export const iban: Matcher = {
  category: 'iban',
  words: Object.keys(IBAN_LENGTHS),
  lookahead: 48,
  find: findIban,
};

/** Labels that put a date of birth next to them, lower-case, longest first. */
export const DOB_LABELS = [
  'date of birth',
  'date_of_birth',
  'date-of-birth',
  'dateofbirth',
  'birth date',
  'birth_date',
  'birth-date',
  'birthdate',
  'birthday',
  'born on',
  'd.o.b.',
  'd.o.b',
  'born',
  'dob',
];

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

function labelAt(s: string, i: number, label: string): boolean {
  if (i + label.length > s.length) return false;
  for (let k = 0; k < label.length; k++) {
    if (lowerAscii(s.charCodeAt(i + k)) !== label.charCodeAt(k)) return false;
  }
  return true;
}

/** A month name (full or its first three letters) from `j`: its end, or -1. */
function monthEnd(s: string, j: number): number {
  for (const month of MONTHS) {
    if (labelAt(s, j, month) && !is(s.charCodeAt(j + month.length), WORD)) return j + month.length;
    if (labelAt(s, j, month.slice(0, 3))) {
      let end = j + 3;
      if (s.charCodeAt(end) === DOT) end++;
      else if (is(s.charCodeAt(end), WORD)) continue;
      return end;
    }
  }
  return -1;
}

/**
 * A date from `j`: `1990-04-23`, `1990/04/23`, `23.04.1990`, `04/23/1990`,
 * `23 April 1990`, `April 23, 1990`; its end, or -1.
 */
function dateEnd(s: string, j: number): number {
  const first = digitsEnd(s, j, 1, 4);
  if (first >= 0) {
    const sep = s.charCodeAt(first);
    if (sep === DASH || sep === 0x2f || sep === DOT) {
      const second = digitsEnd(s, first + 1, 1, 2);
      if (second < 0 || s.charCodeAt(second) !== sep) return -1;
      const third =
        first - j === 4 ? digitsEnd(s, second + 1, 1, 2) : digitsEnd(s, second + 1, 2, 4);
      if (third < 0 || third - second - 1 === 3) return -1;
      return is(s.charCodeAt(third), WORD) ? -1 : third;
    }
    if (first - j > 2 || sep !== SPACE) return -1;
    const month = monthEnd(s, first + 1);
    if (month < 0 || s.charCodeAt(month) !== SPACE) return -1;
    const year = digitsEnd(s, month + 1, 4, 4);
    return year < 0 || is(s.charCodeAt(year), WORD) ? -1 : year;
  }
  const month = monthEnd(s, j);
  if (month < 0 || s.charCodeAt(month) !== SPACE) return -1;
  const day = digitsEnd(s, month + 1, 1, 2);
  if (day < 0) return -1;
  let k = day;
  if (s.charCodeAt(k) === 0x2c) k++;
  if (s.charCodeAt(k) !== SPACE) return -1;
  const year = digitsEnd(s, k + 1, 4, 4);
  return year < 0 || is(s.charCodeAt(year), WORD) ? -1 : year;
}

/**
 * A date right after a birth label (`DOB: 1990-04-23`, `"date_of_birth":
 * "23.04.1990"`, `born on April 23, 1990`): the date goes, the label stays.
 */
function findDob(s: string, i: number): Outcome {
  let label = '';
  for (const candidate of DOB_LABELS) {
    if (labelAt(s, i, candidate) && !is(s.charCodeAt(i + candidate.length), WORD)) {
      label = candidate;
      break;
    }
  }
  if (label === '') return i + 1;
  let j = i + label.length;
  if (s.charCodeAt(j) === 0x22 || s.charCodeAt(j) === 0x27) j++;
  const blanks = (from: number): number => {
    let k = from;
    while (k - from < 4 && isBlank(s.charCodeAt(k))) k++;
    return k;
  };
  j = blanks(j);
  const sep = s.charCodeAt(j);
  if (sep === 0x3a || sep === 0x3d || sep === DASH) j = blanks(j + 1);
  else if (labelAt(s, j, 'is ')) j = blanks(j + 3);
  if (s.charCodeAt(j) === 0x22 || s.charCodeAt(j) === 0x27) j++;
  const end = dateEnd(s, j);
  return end < 0 ? i + 1 : match(j, end, 'dob');
}

export const dob: Matcher = {
  category: 'dob',
  words: ['do', 'Do', 'DO', 'dO', 'da', 'Da', 'DA', 'bi', 'Bi', 'BI', 'bo', 'Bo', 'BO', 'd.', 'D.'],
  lookahead: 72,
  find: findDob,
};
