import {
  COLON,
  DIGIT,
  DOT,
  HEX,
  IPV6,
  is,
  match,
  WORD,
  type Matcher,
  type Outcome,
} from '../text.js';

/** Four dotted decimal octets, not part of a longer dotted sequence or word. */
function findIpv4(s: string, i: number): Outcome {
  // A number right after a dot is a later part of a dotted sequence (`v1.2.3.4`, `1.1.1.1.1`).
  if (i > 0 && s.charCodeAt(i - 1) === DOT) return i + 1;
  let j = i;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (s.charCodeAt(j) !== DOT) return i + 1;
      j++;
    }
    const from = j;
    let value = 0;
    while (j - from < 4 && is(s.charCodeAt(j), DIGIT)) {
      value = value * 10 + s.charCodeAt(j) - 48;
      j++;
    }
    if (j === from || j - from > 3 || value > 255) return i + 1;
  }
  const next = s.charCodeAt(j);
  if (is(next, WORD) || (next === DOT && is(s.charCodeAt(j + 1), DIGIT))) return i + 1;
  return match(i, j, 'ip');
}

export const ipv4: Matcher = {
  category: 'ip',
  words: ['digits'],
  lookahead: 18,
  find: findIpv4,
};

/** An address is at most 45 characters (eight groups, or six and an embedded IPv4). */
const MAX_IPV6 = 45;

/**
 * Where an IPv6 address that reaches the colon at `colon` would start: up to
 * four hex digits back, not inside a longer word, dotted or colon-separated
 * run (a timestamp's `12:34:56` stops here); -1 when none can.
 */
function ipv6Start(s: string, colon: number, last: number): number {
  let start = colon;
  while (start > last && colon - start < 5 && is(s.charCodeAt(start - 1), HEX)) start--;
  if (colon - start > 4) return -1;
  // Without hex digits before it, only a leading `::` can start an address (`"level":50` cannot).
  if (start === colon && s.charCodeAt(colon + 1) !== COLON) return -1;
  if (start > 0) {
    const before = s.charCodeAt(start - 1);
    if (is(before, WORD) || before === COLON || before === DOT) return -1;
  }
  return start;
}

/**
 * IPv6 in RFC 4291 text form, found from a colon: the run of hex digits,
 * colons and dots around it. A failed run is skipped up to its last colon, so
 * an IPv4 address after it can still be found.
 */
function findIpv6(s: string, colon: number, last: number): Outcome {
  const start = ipv6Start(s, colon, last);
  if (start < 0) return colon + 1;
  let runEnd = colon;
  let lastColon = colon;
  const limit = start + MAX_IPV6 + 1;
  while (runEnd < limit && runEnd < s.length && is(s.charCodeAt(runEnd), IPV6)) {
    if (s.charCodeAt(runEnd) === COLON) lastColon = runEnd;
    runEnd++;
  }
  let end = runEnd;
  while (end > colon && s.charCodeAt(end - 1) === DOT) end--;
  if (s.charCodeAt(end - 1) === COLON && s.charCodeAt(end - 2) !== COLON) end--;
  if (
    runEnd < limit &&
    !is(s.charCodeAt(runEnd), WORD) &&
    validIpv6(s, start, end) &&
    !unspecifiedOrLoopback(s, start, end)
  ) {
    return match(start, end, 'ip');
  }
  return lastColon + 1;
}

/** `::` and `::1` name no one: they stay. */
function unspecifiedOrLoopback(s: string, from: number, to: number): boolean {
  const length = to - from;
  return (
    (length === 2 || (length === 3 && s.charCodeAt(from + 2) === 0x31)) &&
    s.charCodeAt(from) === COLON &&
    s.charCodeAt(from + 1) === COLON
  );
}

/**
 * RFC 4291 text form: eight groups of 1-4 hex digits, or fewer around one
 * `::` (any number, so `fe80::`, `1::` and `::a` are addresses), optionally
 * ending in a dotted IPv4.
 */
function validIpv6(s: string, from: number, to: number): boolean {
  if (to - from < 2 || to - from > MAX_IPV6) return false;
  let groups = 0;
  let compressed = false;
  let j = from;
  if (s.charCodeAt(j) === COLON) {
    if (s.charCodeAt(j + 1) !== COLON) return false;
    compressed = true;
    j += 2;
  }
  while (j < to) {
    const groupStart = j;
    while (j < to && is(s.charCodeAt(j), HEX)) j++;
    if (s.charCodeAt(j) === DOT && j < to) {
      if (!validDottedQuad(s, groupStart, to)) return false;
      groups += 2;
      j = to;
      break;
    }
    const length = j - groupStart;
    if (length === 0 || length > 4) return false;
    groups++;
    if (j === to) break;
    j++; // the colon
    if (s.charCodeAt(j) === COLON) {
      if (compressed) return false;
      compressed = true;
      j++;
    } else if (j === to) return false;
  }
  return compressed ? groups <= 7 : groups === 8;
}

function validDottedQuad(s: string, from: number, to: number): boolean {
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let j = from; j <= to; j++) {
    const code = j < to ? s.charCodeAt(j) : DOT;
    if (code === DOT) {
      if (digits === 0 || value > 255) return false;
      parts++;
      value = 0;
      digits = 0;
    } else if (is(code, DIGIT) && digits < 3) {
      value = value * 10 + code - 48;
      digits++;
    } else return false;
  }
  return parts === 4;
}

export const ipv6: Matcher = {
  category: 'ip',
  chars: ':',
  lookahead: MAX_IPV6 + 4,
  find: findIpv6,
};
