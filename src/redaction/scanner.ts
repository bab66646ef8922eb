import {
  categoryMarker,
  KEY_MARKER,
  type RedactionCategory,
  type RedactionCounts,
} from './categories.js';
import { lowerAscii, type KeyMatcher } from './keys.js';

/*
 * One left-to-right pass over a string. Every pattern is a small hand-written
 * matcher anchored at a cheap trigger (a word start, `@`, `:`, `=`, `-----`),
 * and every matcher that scans an unbounded run reports how far it looked, so
 * the main loop never scans the same run twice: the whole pass is linear in
 * the length of the input whatever the input is. No regular expression is
 * involved, so nothing can backtrack.
 */

const WORD = 1 << 0; // [A-Za-z0-9_]
const HEX = 1 << 1;
const DIGIT = 1 << 2;
const B64URL = 1 << 3; // [A-Za-z0-9_-]
const LOCAL = 1 << 4; // e-mail local part (the common subset of RFC 5322)
const DOMAIN = 1 << 5; // [A-Za-z0-9.-]
const USERINFO = 1 << 6; // RFC 3986 userinfo
const TOKEN68 = 1 << 7; // RFC 9110 token68 without the trailing '='
const ALNUM = 1 << 8;
const UPPER = 1 << 9;
const LOWER = 1 << 10;
const KEYNAME = 1 << 11; // [A-Za-z0-9_.-]
const DOTTED = 1 << 12; // [0-9.]
const IPV6 = 1 << 13; // [0-9A-Fa-f:.]
const SPACE_BIT = 1 << 14;
const BASE64_BODY = 1 << 15; // base64 and the line breaks inside a PEM body

// Every UTF-16 code unit has an entry (non-ASCII ones are all zero), so a lookup needs no
// range check.
const CLASS = new Uint16Array(0x10000);
function mark(chars: string, bit: number): void {
  for (let i = 0; i < chars.length; i++) {
    const code = chars.charCodeAt(i);
    CLASS[code] = (CLASS[code] ?? 0) | bit;
  }
}
const LOWERS = 'abcdefghijklmnopqrstuvwxyz';
const UPPERS = LOWERS.toUpperCase();
const DIGITS = '0123456789';
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
mark(DIGITS + '.', DOTTED);
mark(DIGITS + 'abcdefABCDEF:.', IPV6);
mark(' ', SPACE_BIT);
mark(ALNUMS + '+/=\r\n\t ', BASE64_BODY);

function is(code: number, bit: number): boolean {
  // `& 0xffff` keeps every lookup an in-range integer index: past the end of a string
  // `charCodeAt` gives NaN, and one NaN key would turn this (inlined everywhere) load generic.
  return ((CLASS[code & 0xffff] ?? 0) & bit) !== 0;
}

function skip(s: string, from: number, bit: number): number {
  let j = from;
  while (j < s.length && is(s.charCodeAt(j), bit)) j++;
  return j;
}

const SINGLE = 1;
const PAIR = 2;

const AT = 0x40;
const COLON = 0x3a;
const EQUALS = 0x3d;
const DASH = 0x2d;
const DOT = 0x2e;
const SLASH = 0x2f;
const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const BACKSLASH = 0x5c;

/** Compares `s` at `at` with a lower-case ASCII word, ignoring the case of letters in `s`. */
function wordAt(s: string, at: number, lower: string): boolean {
  if (at + lower.length > s.length) return false;
  for (let k = 0; k < lower.length; k++) {
    if ((s.charCodeAt(at + k) | 0x20) !== lower.charCodeAt(k)) return false;
  }
  return true;
}

function hasDigitUpperLower(s: string, from: number, to: number): boolean {
  let seen = 0;
  for (let j = from; j < to && seen !== 7; j++) {
    const code = s.charCodeAt(j);
    if (is(code, DIGIT)) seen |= 1;
    else if (is(code, UPPER)) seen |= 2;
    else if (is(code, LOWER)) seen |= 4;
  }
  return seen === 7;
}

function hasDigit(s: string, from: number, to: number): boolean {
  for (let j = from; j < to; j++) if (is(s.charCodeAt(j), DIGIT)) return true;
  return false;
}

const CARD_DIGITS = new Uint8Array(19);
const CARD_ENDS = new Int32Array(20);

function luhn(length: number): boolean {
  let sum = 0;
  for (let k = 0; k < length; k++) {
    let d = CARD_DIGITS[length - 1 - k] ?? 0;
    if (k % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Issuer prefixes of the card networks (Visa, Mastercard, Amex, Diners, JCB,
 * Discover, UnionPay), from a card number's first four digits.
 */
function plausibleIssuer(first: number, second: number, third: number, fourth: number): boolean {
  if (first >= 3 && first <= 6) return true;
  if (first !== 2) return false;
  const prefix = 2000 + second * 100 + third * 10 + fourth;
  return prefix >= 2221 && prefix <= 2720;
}

/** One to three digits and a dot from `j`: the second octet of a possible IPv4 address. */
function dottedNumberAt(s: string, j: number): boolean {
  const from = j;
  while (j - from < 3 && is(s.charCodeAt(j), DIGIT)) j++;
  return j > from && s.charCodeAt(j) === DOT;
}

const IPV4_WANTED = 1;
const CARD_WANTED = 2;

/**
 * Which matchers can match a word that starts with the digits `i` to `run`:
 * most numbers in logs are neither, and the digit run alone tells.
 */
function digitMatchers(s: string, i: number, run: number, ip: boolean, card: boolean): number {
  // A number right after a dot is a later part of a dotted sequence (`v1.2.3.4`, `1.1.1.1.1`).
  if (i > 0 && s.charCodeAt(i - 1) === DOT) return 0;
  const length = run - i;
  const after = s.charCodeAt(run);
  let wanted = ip && length <= 3 && after === DOT && dottedNumberAt(s, run + 1) ? IPV4_WANTED : 0;
  if (
    card &&
    (length >= 13 ||
      ((after === SPACE || after === DASH) && length >= 3 && is(s.charCodeAt(run + 1), DIGIT))) &&
    // Timestamps (`2024-05-01`, epoch milliseconds) fail here, before the digits are collected.
    (length < 4 ||
      plausibleIssuer(
        s.charCodeAt(i) - 48,
        s.charCodeAt(i + 1) - 48,
        s.charCodeAt(i + 2) - 48,
        s.charCodeAt(i + 3) - 48,
      ))
  ) {
    wanted |= CARD_WANTED;
  }
  return wanted;
}

/**
 * Where an IPv6 address that reaches the colon at `colon` would start: up to
 * four hex digits back, not inside a longer word, dotted or colon-separated
 * run (a timestamp's `12:34:56` stops here); -1 when none can. Small, so that
 * the scanner's main loop inlines it and calls the matcher only past it.
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

/** A custom pattern after option checking: a global copy of the caller's expression. */
export interface CompiledPattern {
  readonly category: string;
  readonly regex: RegExp;
  readonly marker: string;
}

/** The per-redactor text engine: which categories are on, the key rules and custom patterns. */
export class TextScanner {
  readonly #key: KeyMatcher | undefined;
  readonly #email: boolean;
  readonly #bearer: boolean;
  readonly #jwt: boolean;
  readonly #ip: boolean;
  readonly #apiKey: boolean;
  readonly #privateKey: boolean;
  readonly #urlCredentials: boolean;
  readonly #card: boolean;
  readonly #custom: readonly CompiledPattern[];
  /** Characters where some enabled matcher may start: SINGLE, or PAIR when the next letter decides. */
  readonly #triggers = new Uint8Array(128);
  /** Letter pairs that start a word some matcher looks at, indexed `first << 7 | second`. */
  readonly #pairs = new Uint8Array(128 * 128);

  // Match state set by the matchers; the scanner runs synchronously, so one set per instance is enough.
  #start = 0;
  #category: RedactionCategory = 'assignment';
  #resume = 0;
  #pemEndMissingFrom = Infinity;

  constructor(
    enabled: ReadonlySet<RedactionCategory>,
    keys: KeyMatcher | undefined,
    custom: readonly CompiledPattern[],
  ) {
    this.#key = enabled.has('assignment') ? keys : undefined;
    this.#email = enabled.has('email');
    this.#bearer = enabled.has('bearer');
    this.#jwt = enabled.has('jwt');
    this.#ip = enabled.has('ip');
    this.#apiKey = enabled.has('api_key');
    this.#privateKey = enabled.has('private_key');
    this.#urlCredentials = enabled.has('url_credentials');
    this.#card = enabled.has('card');
    this.#custom = custom;
    const single = (chars: string): void => {
      for (let k = 0; k < chars.length; k++) this.#triggers[chars.charCodeAt(k)] = SINGLE;
    };
    const pair = (firsts: string, seconds: string): void => {
      for (let a = 0; a < firsts.length; a++) {
        const first = firsts.charCodeAt(a);
        this.#triggers[first] = PAIR;
        for (let b = 0; b < seconds.length; b++)
          this.#pairs[(first << 7) | seconds.charCodeAt(b)] = 1;
      }
    };
    if (this.#apiKey) {
      pair('sr', 'k');
      pair('A', 'KSI');
      pair('g', 'hi');
      pair('h', 'f');
      pair('x', 'o');
      pair('b', 'w');
    }
    if (this.#bearer) pair('Bb', 'eEaA');
    if (this.#jwt) pair('e', 'y');
    if (this.#ip || this.#card) single(DIGITS);
    if (this.#email || this.#urlCredentials) single('@');
    if (this.#ip || this.#key !== undefined) single(':');
    if (this.#key !== undefined) single('=');
    if (this.#privateKey) single('-');
  }

  /** True when the scanner would never change a string (every category off, no custom pattern). */
  get idle(): boolean {
    return (
      this.#key === undefined &&
      !this.#email &&
      !this.#bearer &&
      !this.#jwt &&
      !this.#ip &&
      !this.#apiKey &&
      !this.#privateKey &&
      !this.#urlCredentials &&
      !this.#card &&
      this.#custom.length === 0
    );
  }

  scan(input: string, counts: RedactionCounts | undefined): string {
    let s = input;
    for (const pattern of this.#custom) {
      pattern.regex.lastIndex = 0;
      s =
        counts === undefined
          ? s.replace(pattern.regex, pattern.marker)
          : s.replace(pattern.regex, () => {
              counts[pattern.category] = (counts[pattern.category] ?? 0) + 1;
              return pattern.marker;
            });
    }
    return this.#builtin(s, counts);
  }

  /**
   * Word by word: a letter or digit matters only where a word starts, so the
   * rest of each word is skipped in a tight loop, and only the first letters
   * some matcher cares about (with the right second letter) call one.
   */
  #builtin(s: string, counts: RedactionCounts | undefined): string {
    const n = s.length;
    const triggers = this.#triggers;
    const pairs = this.#pairs;
    let out = '';
    let last = 0;
    let i = 0;
    this.#pemEndMissingFrom = Infinity;
    // Whether the character before `i` is outside a word. Stepping over one
    // character tells without reading it again; only a jump has to look.
    let wordStart = true;
    while (i < n) {
      const c = s.charCodeAt(i);
      let end = -1;
      if (is(c, WORD)) {
        const trigger = triggers[c];
        // Where the rest of the word is skipped from, and where a failed matcher says to go on.
        let from = i + 1;
        let resume = from;
        if (trigger !== 0 && wordStart) {
          this.#resume = from;
          if (trigger === SINGLE) {
            while (from < n && is(s.charCodeAt(from), DIGIT)) from++;
            const wanted = digitMatchers(s, i, from, this.#ip, this.#card);
            if (wanted !== 0) end = this.#digitWord(s, i, wanted);
          } else {
            const next = s.charCodeAt(i + 1);
            if (next < 128 && pairs[(c << 7) | next] === 1) end = this.#letterWord(s, i, c);
          }
          resume = this.#resume;
        }
        if (end < 0) {
          i = from;
          while (i < n && is(s.charCodeAt(i), WORD)) i++;
          if (resume > i) {
            i = resume;
            wordStart = !is(s.charCodeAt(i - 1), WORD);
          }
          continue;
        }
      } else {
        const trigger = c < 128 ? triggers[c] : 0;
        wordStart = true;
        if (trigger === 0) {
          i++;
          continue;
        }
        this.#resume = i + 1;
        if (c === AT) {
          if (this.#urlCredentials) end = this.#urlCredentialsAt(s, i, last);
          if (end < 0 && this.#email) end = this.#emailAt(s, i, last);
        } else if (c === COLON) {
          const start = this.#ip ? ipv6Start(s, i, last) : -1;
          if (start >= 0) end = this.#ipv6At(s, i, start);
          if (end < 0) end = this.#assignmentFrom(s, i, last);
        } else if (c === EQUALS) {
          end = this.#assignmentFrom(s, i, last);
        } else if (s.charCodeAt(i + 1) === DASH && s.startsWith('-----BEGIN ', i)) {
          end = this.#pemAt(s, i);
        }
        if (end < 0) {
          const resume = this.#resume;
          if (resume > i + 1) wordStart = !is(s.charCodeAt(resume - 1), WORD);
          i = resume;
          continue;
        }
      }
      const category = this.#category;
      out += s.slice(last, this.#start) + MARKERS[category];
      if (counts !== undefined) counts[category] = (counts[category] ?? 0) + 1;
      last = end;
      i = end > i ? end : i + 1;
      wordStart = !is(s.charCodeAt(i - 1), WORD);
    }
    return last === 0 ? s : out + s.slice(last);
  }

  #match(start: number, end: number, category: RedactionCategory): number {
    this.#start = start;
    this.#category = category;
    return end;
  }

  #letterWord(s: string, i: number, c: number): number {
    switch (c) {
      case 0x41: // A
        return this.#apiKey ? this.#awsOrGoogle(s, i) : -1;
      case 0x42: // B
        return this.#bearer ? this.#authScheme(s, i) : -1;
      case 0x62: {
        // b
        const end = this.#bearer ? this.#authScheme(s, i) : -1;
        return end < 0 && this.#apiKey && s.startsWith('bwk_', i)
          ? this.#body(s, i, i + 4, B64URL, 16)
          : end;
      }
      case 0x65: // e
        return this.#jwt && s.startsWith('eyJ', i) ? this.#jwtAt(s, i) : -1;
      case 0x67: // g
        return this.#apiKey ? this.#github(s, i) : -1;
      case 0x68: // h
        return this.#apiKey && s.startsWith('hf_', i) ? this.#body(s, i, i + 3, ALNUM, 30) : -1;
      case 0x72: // r
        return this.#apiKey && (s.startsWith('rk_live_', i) || s.startsWith('rk_test_', i))
          ? this.#body(s, i, i + 8, ALNUM, 16)
          : -1;
      case 0x73: // s
        return this.#apiKey ? this.#sk(s, i) : -1;
      case 0x78: // x
        return this.#apiKey && s.startsWith('xox', i) ? this.#slack(s, i) : -1;
      default:
        return -1;
    }
  }

  /** A prefixed key: `prefix` then at least `min` characters of `bit`; a short body skips the whole run. */
  #body(s: string, i: number, bodyStart: number, bit: number, min: number): number {
    const end = skip(s, bodyStart, bit);
    this.#resume = end;
    return end - bodyStart >= min ? this.#match(i, end, 'api_key') : -1;
  }

  /** OpenAI (`sk-`, `sk-proj-`, ...), Anthropic (`sk-ant-`) and Stripe (`sk_live_`, `sk_test_`). */
  #sk(s: string, i: number): number {
    if (s.charCodeAt(i + 1) !== 0x6b) return -1;
    const sep = s.charCodeAt(i + 2);
    if (sep === DASH) {
      // Real keys are long random strings; requiring digits and both cases keeps `sk-learn` and friends.
      const end = skip(s, i + 3, B64URL);
      this.#resume = end;
      return end - (i + 3) >= 20 && hasDigitUpperLower(s, i + 3, end)
        ? this.#match(i, end, 'api_key')
        : -1;
    }
    if (sep === 0x5f && (s.startsWith('live_', i + 3) || s.startsWith('test_', i + 3))) {
      return this.#body(s, i, i + 8, ALNUM, 16);
    }
    return -1;
  }

  /** AWS access key ids (`AKIA`/`ASIA` + 16) and Google API keys (`AIza` + 35). */
  #awsOrGoogle(s: string, i: number): number {
    if (s.startsWith('AKIA', i) || s.startsWith('ASIA', i)) {
      const end = skip(s, i + 4, UPPER | DIGIT);
      if (end - i === 20 && !is(s.charCodeAt(end), ALNUM)) return this.#match(i, end, 'api_key');
      return -1;
    }
    if (s.startsWith('AIza', i)) {
      const end = skip(s, i + 4, B64URL);
      this.#resume = end;
      return end - i === 39 ? this.#match(i, end, 'api_key') : -1;
    }
    return -1;
  }

  /** GitHub tokens: `ghp_` `gho_` `ghu_` `ghs_` `ghr_` and fine-grained `github_pat_`. */
  #github(s: string, i: number): number {
    const kind = s.charAt(i + 2);
    if (s.charCodeAt(i + 1) === 0x68 && s.charCodeAt(i + 3) === 0x5f && 'pousr'.includes(kind)) {
      return this.#body(s, i, i + 4, ALNUM, 30);
    }
    return s.startsWith('github_pat_', i) ? this.#body(s, i, i + 11, WORD, 22) : -1;
  }

  /** Slack tokens: `xoxa-` `xoxb-` `xoxp-` `xoxo-` `xoxr-` `xoxs-` with a digit in the body. */
  #slack(s: string, i: number): number {
    const kind = s.charAt(i + 3);
    if (kind === '' || !'abposr'.includes(kind) || s.charCodeAt(i + 4) !== DASH) return -1;
    const end = skip(s, i + 5, B64URL);
    this.#resume = end;
    return end - (i + 5) >= 10 && hasDigit(s, i + 5, end) ? this.#match(i, end, 'api_key') : -1;
  }

  /** `header.payload.signature`, each base64url; the signature may be empty (`alg: none`). */
  #jwtAt(s: string, i: number): number {
    const headerEnd = skip(s, i, B64URL);
    this.#resume = headerEnd;
    if (headerEnd - i < 10 || s.charCodeAt(headerEnd) !== DOT) return -1;
    const payloadEnd = skip(s, headerEnd + 1, B64URL);
    if (payloadEnd - headerEnd - 1 < 2 || s.charCodeAt(payloadEnd) !== DOT) return -1;
    return this.#match(i, skip(s, payloadEnd + 1, B64URL), 'jwt');
  }

  /** `Bearer <token>` and `Basic <base64 user:pass>`; the scheme name stays. */
  #authScheme(s: string, i: number): number {
    let basic = false;
    let j: number;
    if (wordAt(s, i, 'bearer')) j = i + 6;
    else if (wordAt(s, i, 'basic')) {
      j = i + 5;
      basic = true;
    } else return -1;
    const afterWord = j;
    while (
      j < s.length &&
      j - afterWord < 16 &&
      (s.charCodeAt(j) === SPACE || s.charCodeAt(j) === TAB)
    )
      j++;
    if (j === afterWord) return -1;
    const tokenStart = j;
    let end = skip(s, tokenStart, TOKEN68);
    const bodyEnd = end;
    while (end < s.length && s.charCodeAt(end) === EQUALS) end++;
    this.#resume = end > this.#resume ? end : this.#resume;
    const length = bodyEnd - tokenStart;
    if (basic) {
      if (length < 4 || !decodesToUserPass(s.slice(tokenStart, end))) return -1;
    } else if (!(length >= 20 || (length >= 8 && hasDigitOrPunctuation(s, tokenStart, bodyEnd)))) {
      return -1;
    }
    return this.#match(tokenStart, end, 'bearer');
  }

  /** A word that starts with digits: `wanted` says which of the IPv4 and card matchers can match. */
  #digitWord(s: string, i: number, wanted: number): number {
    const end = (wanted & IPV4_WANTED) !== 0 ? this.#ipv4At(s, i) : -1;
    return end < 0 && (wanted & CARD_WANTED) !== 0 ? this.#cardAt(s, i) : end;
  }

  /** Four dotted decimal octets, not part of a longer dotted sequence or word. */
  #ipv4At(s: string, i: number): number {
    let j = i;
    for (let part = 0; part < 4; part++) {
      if (part > 0) {
        if (s.charCodeAt(j) !== DOT) return this.#noIpv4(s, i);
        j++;
      }
      const from = j;
      let value = 0;
      while (j < s.length && j - from < 4 && is(s.charCodeAt(j), DIGIT)) {
        value = value * 10 + s.charCodeAt(j) - 48;
        j++;
      }
      if (j === from || j - from > 3 || value > 255) return this.#noIpv4(s, i);
    }
    const next = s.charCodeAt(j);
    if (is(next, WORD) || (next === DOT && is(s.charCodeAt(j + 1), DIGIT))) {
      return this.#noIpv4(s, i);
    }
    return this.#match(i, j, 'ip');
  }

  #noIpv4(s: string, i: number): number {
    const end = skip(s, i, DOTTED);
    if (end > this.#resume) this.#resume = end;
    return -1;
  }

  /** 13 to 19 digits, optionally grouped by single spaces or dashes, with a card issuer prefix and a valid Luhn sum. */
  #cardAt(s: string, i: number): number {
    let j = i;
    let digits = 0;
    let ends = 0;
    while (j < s.length && digits < 19) {
      const code = s.charCodeAt(j);
      if (is(code, DIGIT)) {
        CARD_DIGITS[digits++] = code - 48;
        j++;
        if (digits >= 13 && !is(s.charCodeAt(j), DIGIT)) {
          CARD_ENDS[digits] = j;
          ends |= 1 << digits;
        }
      } else if ((code === SPACE || code === DASH) && is(s.charCodeAt(j + 1), DIGIT)) {
        j++;
      } else break;
    }
    if (
      ends === 0 ||
      !plausibleIssuer(
        CARD_DIGITS[0] ?? 0,
        CARD_DIGITS[1] ?? 0,
        CARD_DIGITS[2] ?? 0,
        CARD_DIGITS[3] ?? 0,
      )
    ) {
      return -1;
    }
    for (let length = 19; length >= 13; length--) {
      if ((ends & (1 << length)) === 0) continue;
      const end = CARD_ENDS[length] ?? 0;
      if (!is(s.charCodeAt(end), WORD) && luhn(length)) return this.#match(i, end, 'card');
    }
    return -1;
  }

  /**
   * IPv6 in RFC 4291 text form, found from a colon: from `start` (where
   * `ipv6Start` put it), the run of hex digits, colons and dots. A failed run
   * is skipped up to its last colon, so an IPv4 address after it can still be
   * found.
   */
  #ipv6At(s: string, colon: number, start: number): number {
    let runEnd = colon;
    let lastColon = colon;
    while (runEnd < s.length && is(s.charCodeAt(runEnd), IPV6)) {
      if (s.charCodeAt(runEnd) === COLON) lastColon = runEnd;
      runEnd++;
    }
    let end = runEnd;
    while (end > colon && s.charCodeAt(end - 1) === DOT) end--;
    if (s.charCodeAt(end - 1) === COLON && s.charCodeAt(end - 2) !== COLON) end--;
    if (!is(s.charCodeAt(runEnd), WORD) && validIpv6(s, start, end)) {
      return this.#match(start, end, 'ip');
    }
    if (lastColon + 1 > this.#resume) this.#resume = lastColon + 1;
    return -1;
  }

  /** `scheme://user:password@host`: the whole userinfo goes, scheme and host stay. */
  #urlCredentialsAt(s: string, at: number, last: number): number {
    let start = at;
    while (start > last && at - start < 512 && is(s.charCodeAt(start - 1), USERINFO)) start--;
    if (
      start === at ||
      start - 4 < last ||
      s.charCodeAt(start - 1) !== SLASH ||
      s.charCodeAt(start - 2) !== SLASH ||
      s.charCodeAt(start - 3) !== COLON ||
      !is(s.charCodeAt(start - 4), ALNUM)
    ) {
      return -1;
    }
    for (let j = start; j < at; j++) {
      if (s.charCodeAt(j) === COLON) return this.#match(start, at, 'url_credentials');
    }
    return -1;
  }

  /**
   * An address found from its `@`: the local part scanned backwards, the domain
   * forwards. Both scans stop at the next `@`, so each character is looked at
   * a bounded number of times however many `@` there are.
   */
  #emailAt(s: string, at: number, last: number): number {
    let start = at;
    while (start > last && is(s.charCodeAt(start - 1), LOCAL)) start--;
    while (start < at && s.charCodeAt(start) === DOT) start++;
    if (start === at || s.charCodeAt(at - 1) === DOT) return -1;
    let end = skip(s, at + 1, DOMAIN);
    while (end > at + 1 && (s.charCodeAt(end - 1) === DOT || s.charCodeAt(end - 1) === DASH)) end--;
    return validDomain(s, at + 1, end) ? this.#match(start, end, 'email') : -1;
  }

  /** A PEM private key block; without its END line, the header and the base64 lines after it. */
  #pemAt(s: string, i: number): number {
    const labelStart = i + 11;
    const labelEnd = skip(s, labelStart, UPPER | DIGIT | SPACE_BIT);
    if (
      labelEnd - labelStart > 64 ||
      !s.startsWith('-----', labelEnd) ||
      !s.slice(labelStart, labelEnd).includes('PRIVATE KEY')
    ) {
      return -1;
    }
    const headerEnd = labelEnd + 5;
    const endLine = headerEnd >= this.#pemEndMissingFrom ? -1 : s.indexOf('-----END ', headerEnd);
    if (endLine === -1) {
      this.#pemEndMissingFrom = Math.min(this.#pemEndMissingFrom, headerEnd);
      return this.#match(i, skip(s, headerEnd, BASE64_BODY), 'private_key');
    }
    const closeStart = skip(s, endLine + 9, UPPER | DIGIT | SPACE_BIT);
    const end = s.startsWith('-----', closeStart) ? closeStart + 5 : endLine + 9;
    return this.#match(i, end, 'private_key');
  }

  /**
   * Finds where the key before a separator ends and rules most keys out from
   * their last characters before the matcher looks for the key's start.
   */
  #assignmentFrom(s: string, sep: number, last: number): number {
    const keys = this.#key;
    if (keys === undefined) return -1;
    let keyEnd = sep;
    while (keyEnd > last && sep - keyEnd < 8 && isBlank(s.charCodeAt(keyEnd - 1))) keyEnd--;
    const closing = s.charCodeAt(keyEnd - 1);
    const quote = closing === QUOTE || closing === APOSTROPHE ? closing : 0;
    if (quote !== 0) keyEnd--;
    if (keyEnd <= last || !keys.mayEndAt(s, keyEnd, last)) return -1;
    return this.#assignmentAt(s, sep, last, keys, keyEnd, quote);
  }

  /**
   * `key=value`, `key: value` and `"key": "value"` where the key is secret-bearing.
   * Quoted values end at their closing quote; bare values at white space or
   * punctuation, except that `Bearer x` / `Basic x` keeps its credential and a
   * cookie runs to the end of the line.
   */
  #assignmentAt(
    s: string,
    sep: number,
    last: number,
    keys: KeyMatcher,
    keyEnd: number,
    quote: number,
  ): number {
    let keyStart = keyEnd;
    while (keyStart > last && keyEnd - keyStart <= 64 && is(s.charCodeAt(keyStart - 1), KEYNAME)) {
      keyStart--;
    }
    if (keyEnd - keyStart > 64 || keyStart === keyEnd) return -1;
    if (quote !== 0 && s.charCodeAt(keyStart - 1) !== quote) return -1;
    if (!keys.mayMatch(s, keyStart, keyEnd)) return -1;
    const key = s.slice(keyStart, keyEnd);
    if (!keys.matches(key)) return -1;

    let v = sep + 1;
    while (v < s.length && v - sep <= 16 && isBlank(s.charCodeAt(v))) v++;
    if (v >= s.length || s.startsWith('[REDACTED', v)) return -1;
    const open = s.charCodeAt(v);
    if (open === QUOTE || open === APOSTROPHE) {
      let j = v + 1;
      while (j < s.length && j - v < 8192) {
        const code = s.charCodeAt(j);
        if (code === open || code === NEWLINE) break;
        j += code === BACKSLASH ? 2 : 1;
      }
      if (j > s.length) j = s.length;
      if (j === v + 1 || s.startsWith('[REDACTED', v + 1)) return -1;
      return this.#match(v + 1, j, 'assignment');
    }
    let end: number;
    if (
      endsWithWord(s, keyStart, keyEnd, 'cookie') ||
      endsWithWord(s, keyStart, keyEnd, 'cookies')
    ) {
      end = s.indexOf('\n', v);
      if (end === -1) end = s.length;
      if (s.charCodeAt(end - 1) === 0x0d) end--;
    } else {
      end = bareValueEnd(s, v);
      if (end === v) return -1;
      if (oneOf(s, v, end, NOT_SECRETS)) return -1;
      if (s.charCodeAt(end) === SPACE && oneOf(s, v, end, AUTH_SCHEMES)) {
        end = bareValueEnd(s, end + 1);
      }
    }
    return end > v ? this.#match(v, end, 'assignment') : -1;
  }
}

const MARKERS: Record<RedactionCategory, string> = {
  key: KEY_MARKER,
  assignment: KEY_MARKER,
  email: categoryMarker('email'),
  bearer: categoryMarker('bearer'),
  jwt: categoryMarker('jwt'),
  ip: categoryMarker('ip'),
  api_key: categoryMarker('api_key'),
  private_key: categoryMarker('private_key'),
  url_credentials: categoryMarker('url_credentials'),
  card: categoryMarker('card'),
};

const AUTH_SCHEMES = ['bearer', 'basic', 'token', 'digest'];
const NOT_SECRETS = ['null', 'true', 'false'];
const KELVIN = 0x212a;

/**
 * Whether `s.slice(from, to).toLowerCase()` is the lower-case ASCII `word`,
 * without building either string. The Kelvin sign is the one character
 * outside ASCII that lowers to a single ASCII letter (`k`).
 */
function wordIs(s: string, from: number, to: number, word: string): boolean {
  if (to - from !== word.length) return false;
  for (let k = 0; k < word.length; k++) {
    const code = s.charCodeAt(from + k);
    if ((code === KELVIN ? 0x6b : lowerAscii(code)) !== word.charCodeAt(k)) return false;
  }
  return true;
}

function oneOf(s: string, from: number, to: number, words: readonly string[]): boolean {
  for (const word of words) if (wordIs(s, from, to, word)) return true;
  return false;
}

/** Whether `s.slice(from, to).toLowerCase()` ends with the lower-case ASCII `word`. */
function endsWithWord(s: string, from: number, to: number, word: string): boolean {
  return to - from >= word.length && wordIs(s, to - word.length, to, word);
}

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
}

const BARE_STOP = new Uint8Array(128);
for (let code = 0; code <= SPACE; code++) BARE_STOP[code] = 1;
for (const char of ',;&}])"\'<>') BARE_STOP[char.charCodeAt(0)] = 1;

/** A bare value ends at white space or at punctuation that closes a field. */
function bareValueEnd(s: string, from: number): number {
  let j = from;
  while (j < s.length) {
    const code = s.charCodeAt(j);
    if (code < 128 && BARE_STOP[code] === 1) break;
    j++;
  }
  return j;
}

function hasDigitOrPunctuation(s: string, from: number, to: number): boolean {
  for (let j = from; j < to; j++) {
    const code = s.charCodeAt(j);
    if (!is(code, UPPER | LOWER)) return true;
  }
  return false;
}

function decodesToUserPass(token: string): boolean {
  const decoded = Buffer.from(token, 'base64').toString('latin1');
  if (!decoded.includes(':')) return false;
  for (let k = 0; k < decoded.length; k++) {
    const code = decoded.charCodeAt(k);
    if (code < SPACE || code > 0x7e) return false;
  }
  return true;
}

/** At least two labels of 1-63 letters, digits or inner dashes; an alphabetic TLD of 2+ letters. */
function validDomain(s: string, from: number, to: number): boolean {
  if (to - from < 4 || to - from > 253) return false;
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

/**
 * RFC 4291 text form: eight groups of 1-4 hex digits, or fewer around one
 * `::`, optionally ending in a dotted IPv4. A compressed address needs at
 * least two groups, so `::1`, `a::b` style tokens stay and `fe80::1` goes.
 */
function validIpv6(s: string, from: number, to: number): boolean {
  if (to - from < 3 || to - from > 45) return false;
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
  return compressed ? groups >= 2 && groups <= 7 : groups === 8;
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
