import { lowerToAscii, type KeyMatcher } from '../keys.js';
import {
  APOSTROPHE,
  AT,
  BACKSLASH,
  COLON,
  EQUALS,
  GREATER,
  is,
  isBlank,
  KEYNAME,
  LESS,
  match,
  NEWLINE,
  QUOTE,
  RETURN,
  SPACE,
  WORD,
  type Matcher,
  type Outcome,
} from '../text.js';

/** A quoted value, a cookie or an Authorization header is looked at for no more than this. */
export const MAX_VALUE = 8192;
const MAX_KEY = 64;
const MAX_BLANKS = 16;

const AUTH_SCHEMES = ['bearer', 'basic', 'token', 'digest'];
const NOT_SECRETS = ['null', 'true', 'false'];

/**
 * `key=value`, `key: value`, `key := value`, `key => value`, `"key": "value"`
 * and `<key>value</key>` where the key is secret-bearing. Quoted values
 * (`"…"`, `'…'`, `@"…"`, JSON-escaped `\"…\"`) end at their closing quote;
 * bare values at white space or punctuation; a cookie runs to the end of the
 * line; an Authorization value keeps its credential with any scheme.
 */
export function assignmentMatchers(keys: KeyMatcher): Matcher[] {
  const separated: Matcher = {
    category: 'assignment',
    chars: ':=',
    lookahead: 80,
    find(s, sep, last) {
      let keyEnd = sep;
      while (keyEnd > last && sep - keyEnd < 8 && isBlank(s.charCodeAt(keyEnd - 1))) keyEnd--;
      let quote = s.charCodeAt(keyEnd - 1);
      if (quote === QUOTE || quote === APOSTROPHE) {
        keyEnd--;
        if (s.charCodeAt(keyEnd - 1) === BACKSLASH) keyEnd--;
      } else quote = 0;
      if (keyEnd <= last || !keys.mayEndAt(s, keyEnd, last)) return sep + 1;
      let keyStart = keyEnd;
      while (
        keyStart > last &&
        keyEnd - keyStart <= MAX_KEY &&
        is(s.charCodeAt(keyStart - 1), KEYNAME)
      ) {
        keyStart--;
      }
      if (keyEnd - keyStart > MAX_KEY || keyStart === keyEnd) return sep + 1;
      if (quote !== 0 && s.charCodeAt(keyStart - 1) !== quote) return sep + 1;
      if (!keys.mayMatch(s, keyStart, keyEnd) || !keys.matches(s.slice(keyStart, keyEnd))) {
        return sep + 1;
      }
      // `:=` (Go) and `=>` (Ruby, PHP, Perl) are one separator.
      let valueSep = sep;
      const after = s.charCodeAt(sep + 1);
      if (
        (s.charCodeAt(sep) === COLON && after === EQUALS) ||
        (s.charCodeAt(sep) === EQUALS && after === GREATER)
      ) {
        valueSep++;
      }
      return valueAt(s, sep, valueSep + 1, keyStart, keyEnd);
    },
  };
  const element: Matcher = {
    category: 'assignment',
    chars: '>',
    lookahead: 16,
    find(s, close, last) {
      let nameStart = close;
      while (
        nameStart > last &&
        close - nameStart <= MAX_KEY &&
        is(s.charCodeAt(nameStart - 1), KEYNAME)
      ) {
        nameStart--;
      }
      if (nameStart === close || s.charCodeAt(nameStart - 1) !== LESS || nameStart - 1 < last) {
        return close + 1;
      }
      if (!keys.mayMatch(s, nameStart, close) || !keys.matches(s.slice(nameStart, close))) {
        return close + 1;
      }
      const v = close + 1;
      let end = v;
      while (end - v < MAX_VALUE && end < s.length) {
        const code = s.charCodeAt(end);
        if (code === LESS || code === NEWLINE) break;
        end++;
      }
      if (end === v || s.startsWith('[REDACTED', v)) return close + 1;
      return match(v, end, 'assignment');
    },
  };
  return [separated, element];
}

function valueAt(s: string, sep: number, from: number, keyStart: number, keyEnd: number): Outcome {
  let v = from;
  while (v - from < MAX_BLANKS && isBlank(s.charCodeAt(v))) v++;
  if (v >= s.length || s.startsWith('[REDACTED', v)) return sep + 1;
  let open = s.charCodeAt(v);
  let escaped = false;
  if ((open === AT || open === BACKSLASH) && isQuote(s.charCodeAt(v + 1))) {
    escaped = open === BACKSLASH;
    v++;
    open = s.charCodeAt(v);
  }
  if (isQuote(open)) return quotedValue(s, sep, v, open, escaped);
  if (endsWithWord(s, keyStart, keyEnd, 'cookie') || endsWithWord(s, keyStart, keyEnd, 'cookies')) {
    const end = lineEnd(s, v);
    return end > v ? match(v, end, 'assignment') : sep + 1;
  }
  if (endsWithWord(s, keyStart, keyEnd, 'authorization')) return authorizationValue(s, sep, v);
  let end = bareValueEnd(s, v);
  if (end === v) return sep + 1;
  if (oneOf(s, v, end, NOT_SECRETS)) return end;
  if (s.charCodeAt(end) === SPACE && oneOf(s, v, end, AUTH_SCHEMES)) end = bareValueEnd(s, end + 1);
  return match(v, end, 'assignment');
}

function isQuote(code: number): boolean {
  return code === QUOTE || code === APOSTROPHE;
}

function quotedValue(s: string, sep: number, v: number, open: number, escaped: boolean): Outcome {
  let j = v + 1;
  const limit = Math.min(s.length, v + MAX_VALUE);
  while (j < limit) {
    const code = s.charCodeAt(j);
    if (code === NEWLINE) break;
    if (code === BACKSLASH) {
      if (escaped && s.charCodeAt(j + 1) === open) break;
      j += 2;
      continue;
    }
    if (code === open && !escaped) break;
    j++;
  }
  if (j > limit) j = limit;
  if (j === v + 1 || s.startsWith('[REDACTED', v + 1)) return sep + 1;
  return match(v + 1, j, 'assignment');
}

/**
 * `Authorization: <scheme> <credential>` with any scheme; auth-params
 * (`Digest username="…", response="…"`) run to the end of the line.
 */
function authorizationValue(s: string, sep: number, v: number): Outcome {
  const schemeEnd = bareValueEnd(s, v);
  let end = schemeEnd;
  if (schemeEnd > v && schemeEnd - v <= 32 && isBlank(s.charCodeAt(schemeEnd))) {
    let c = schemeEnd;
    while (c - schemeEnd < MAX_BLANKS && isBlank(s.charCodeAt(c))) c++;
    let name = c;
    while (name - c < 64 && is(s.charCodeAt(name), WORD)) name++;
    const param = name > c && s.charCodeAt(name) === EQUALS && s.charCodeAt(name + 1) !== EQUALS;
    const credentialEnd = param ? lineEnd(s, c) : bareValueEnd(s, c);
    if (credentialEnd > c) end = credentialEnd;
  }
  return end > v ? match(v, end, 'assignment') : sep + 1;
}

function lineEnd(s: string, from: number): number {
  let end = from;
  const limit = from + MAX_VALUE;
  while (end < limit && end < s.length && s.charCodeAt(end) !== NEWLINE) end++;
  if (s.charCodeAt(end - 1) === RETURN && end > from) end--;
  return end;
}

/**
 * Whether `s.slice(from, to).toLowerCase()` is the lower-case ASCII `word`,
 * without building either string.
 */
function wordIs(s: string, from: number, to: number, word: string): boolean {
  if (to - from !== word.length) return false;
  for (let k = 0; k < word.length; k++) {
    if (lowerToAscii(s.charCodeAt(from + k)) !== word.charCodeAt(k)) return false;
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

const BARE_STOP = new Uint8Array(128);
for (let code = 0; code <= SPACE; code++) BARE_STOP[code] = 1;
for (const char of ',;&}])"\'<>') BARE_STOP[char.charCodeAt(0)] = 1;

/** A bare value ends at white space or at punctuation that closes a field; never past the cap. */
function bareValueEnd(s: string, from: number): number {
  let j = from;
  const limit = Math.min(s.length, from + MAX_VALUE);
  while (j < limit) {
    const code = s.charCodeAt(j);
    if (code < 128 && BARE_STOP[code] === 1) break;
    j++;
  }
  return j;
}
