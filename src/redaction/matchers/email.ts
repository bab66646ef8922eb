import {
  ALNUM,
  APOSTROPHE,
  COLON,
  DASH,
  DOMAIN,
  DOT,
  is,
  LOCAL,
  match,
  QUOTE,
  skip,
  SLASH,
  UPPER,
  LOWER,
  USERINFO,
  type Matcher,
  type Outcome,
} from '../text.js';

/** RFC 5321 caps a local part at 64 octets and a domain at 253: the scans look no further. */
const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;

/**
 * An address found from its `@`: the local part scanned backwards (at most 64
 * characters), the domain forwards (at most 253), so each `@` costs a bounded
 * amount however many there are.
 */
function findEmail(s: string, at: number, last: number): Outcome {
  const floor = Math.max(last, at - MAX_LOCAL);
  let start = at;
  while (start > floor && is(s.charCodeAt(start - 1), LOCAL)) start--;
  while (start < at && s.charCodeAt(start) === DOT) start++;
  if (start === at || s.charCodeAt(at - 1) === DOT) return at + 1;
  let end = skip(s, at + 1, DOMAIN, MAX_DOMAIN + 1);
  while (end > at + 1 && (s.charCodeAt(end - 1) === DOT || s.charCodeAt(end - 1) === DASH)) end--;
  return validDomain(s, at + 1, end) ? match(start, end, 'email') : at + 1;
}

/** At least two labels of 1-63 letters, digits or inner dashes; an alphabetic TLD of 2+ letters. */
function validDomain(s: string, from: number, to: number): boolean {
  if (to - from < 4 || to - from > MAX_DOMAIN) return false;
  let labelStart = from;
  let labels = 0;
  for (let j = from; j <= to; j++) {
    if (j < to && s.charCodeAt(j) !== DOT) continue;
    const length = j - labelStart;
    if (
      length === 0 ||
      length > 63 ||
      s.charCodeAt(labelStart) === DASH ||
      s.charCodeAt(j - 1) === DASH
    ) {
      return false;
    }
    labels++;
    if (j === to) {
      if (length < 2) return false;
      for (let k = labelStart; k < to; k++) if (!is(s.charCodeAt(k), UPPER | LOWER)) return false;
    }
    labelStart = j + 1;
  }
  return labels >= 2;
}

export const email: Matcher = {
  category: 'email',
  chars: '@',
  lookahead: MAX_DOMAIN + 4,
  find: findEmail,
};

const MAX_USERINFO = 512;
const MAX_SCHEME = 32;

/**
 * `scheme://user:password@host`: the whole userinfo goes, scheme and host stay.
 * A quote that opened the URL ends it: in `'https://host:8000';@x` the `@`
 * comes after the string, so `host:8000';` is no userinfo.
 */
function findUrlCredentials(s: string, at: number, last: number): Outcome {
  let start = at;
  const floor = Math.max(last, at - MAX_USERINFO);
  while (start > floor && is(s.charCodeAt(start - 1), USERINFO)) start--;
  if (
    start === at ||
    start - 4 < last ||
    s.charCodeAt(start - 1) !== SLASH ||
    s.charCodeAt(start - 2) !== SLASH ||
    s.charCodeAt(start - 3) !== COLON ||
    !is(s.charCodeAt(start - 4), ALNUM)
  ) {
    return at + 1;
  }
  let schemeStart = start - 4;
  while (
    schemeStart > last &&
    start - schemeStart < MAX_SCHEME &&
    is(s.charCodeAt(schemeStart - 1), ALNUM)
  ) {
    schemeStart--;
  }
  const opener = s.charCodeAt(schemeStart - 1);
  let colon = false;
  for (let j = start; j < at; j++) {
    const code = s.charCodeAt(j);
    if ((opener === QUOTE || opener === APOSTROPHE) && code === opener) return at + 1;
    if (code === COLON) colon = true;
  }
  return colon ? match(start, at, 'url_credentials') : at + 1;
}

export const urlCredentials: Matcher = {
  category: 'url_credentials',
  chars: '@',
  lookahead: 2,
  find: findUrlCredentials,
};
