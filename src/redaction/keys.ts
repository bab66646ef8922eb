import { Memo } from '../internal/memo.js';

/**
 * A key is secret-bearing when its normalised form (lower case, without `-`,
 * `_`, `.` and spaces) ends with one of these words: `db_password`,
 * `X-Api-Key`, `githubToken` and `aws_secret_access_key` all match, while
 * `max_tokens`, `token_type` and `password_min_length` do not.
 */
export const SECRET_KEY_SUFFIXES: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'passcode',
  'secret',
  'token',
  'authorization',
  'cookie',
  'cookies',
  'session',
  'sessionid',
  'apikey',
  'privatekey',
  'secretkey',
  'accesskey',
  'credential',
  'credentials',
  'encryptionkey',
  'signingkey',
  'masterkey',
  'connectionstring',
  'accountkey',
  'sharedaccesskey',
];

/** Short names that would match too much as suffixes, so they match only as the whole key. */
export const SECRET_KEY_NAMES: readonly string[] = ['auth', 'pass', 'pin', 'otp', 'jwt', 'sid'];

const NORMALISE = /[-_.\s]/g;

export function normaliseKey(key: string): string {
  return key.toLowerCase().replace(NORMALISE, '');
}

// Keys repeat across records, so decisions are cached; the cap keeps a stream of
// distinct keys from growing it, and long keys are not cached at all.
const CACHE_LIMIT = 4096;
const CACHEABLE_KEY_LENGTH = 64;

/** Decides whether a key name is secret-bearing; built once per redactor. */
export class KeyMatcher {
  readonly #exact: ReadonlySet<string>;
  readonly #suffixes: readonly string[];
  readonly #cache = new Memo<boolean>(CACHE_LIMIT, CACHEABLE_KEY_LENGTH);
  /** `tailHash` of every rule's last three characters; a key whose tail is not here cannot match. */
  readonly #tails = new Uint8Array(TAIL_BITS + 1);
  /**
   * Lower-cased last two characters of every rule (`first << 7 | last`).
   * `undefined` when a rule is a single character or not ASCII.
   */
  readonly #lastPairs: Uint8Array | undefined;

  constructor(extraKeys: readonly string[]) {
    this.#exact = new Set([...SECRET_KEY_NAMES, ...extraKeys.map(normaliseKey)]);
    this.#suffixes = SECRET_KEY_SUFFIXES;
    let pairs: Uint8Array | undefined = new Uint8Array(128 * 128);
    for (const word of [...this.#exact, ...this.#suffixes]) {
      const n = word.length;
      const first = word.charCodeAt(n - 2);
      const last = word.charCodeAt(n - 1);
      if (n < 2 || first >= 128 || last >= 128) pairs = undefined;
      else if (pairs !== undefined) pairs[(first << 7) | last] = 1;
      const tail = n < 3 ? -1 : tailHash(word.charCodeAt(n - 3), first, last);
      if (tail >= 0) this.#tails[tail] = 1;
    }
    this.#lastPairs = pairs;
  }

  matches(key: string): boolean {
    // Most keys end in three letters or digits (after separators) that no rule
    // ends with: a table read rules them out before the decision cache.
    return this.mayMatch(key, 0, key.length) && this.#decide(key);
  }

  /**
   * False when a key that ends at `to` in `s` cannot match, told from its last
   * two characters without finding where it starts: text scanning rules out
   * most `name=` and `name:` with this. The three before `to` also tell when
   * they are letters or digits after `from` (where an earlier match ended).
   */
  mayEndAt(s: string, to: number, from: number): boolean {
    const pairs = this.#lastPairs;
    if (pairs !== undefined) {
      // The last two characters that normalising keeps: `passwd.` and `pi-n` match.
      const last = keptAtOrBefore(s, to - 1, from);
      const first = keptAtOrBefore(s, last - 1, from);
      // Every rule has two characters or more, so a key with fewer cannot match.
      if (first < from) return false;
      const a = lowerToAscii(s.charCodeAt(first));
      const b = lowerToAscii(s.charCodeAt(last));
      if (a >= 128 || b >= 128 || pairs[(a << 7) | b] !== 1) return false;
    }
    if (to - 3 < from) return true;
    const tail = tailHash(s.charCodeAt(to - 3), s.charCodeAt(to - 2), s.charCodeAt(to - 1));
    return tail < 0 || this.#tails[tail] === 1;
  }

  /**
   * False when the key `s.slice(from, to)` cannot match, told from its last
   * characters without building it, also through separators (`x-request-id`
   * ends in `tid`): text scanning asks before it slices a key out.
   */
  mayMatch(s: string, from: number, to: number): boolean {
    let tail =
      to - from >= 3
        ? tailHash(s.charCodeAt(to - 3), s.charCodeAt(to - 2), s.charCodeAt(to - 1))
        : -1;
    if (tail < 0) tail = separatedTail(s, from, to);
    return tail < 0 || this.#tails[tail] === 1;
  }

  #decide(key: string): boolean {
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const normal = normaliseKey(key);
    let hit = this.#exact.has(normal);
    for (let i = 0; !hit && i < this.#suffixes.length; i++) {
      hit = normal.endsWith(this.#suffixes[i] ?? '');
    }
    this.#cache.set(key, hit);
    return hit;
  }
}

const ALNUM = new Uint8Array(128);
for (let code = 0; code < 128; code++) {
  const char = String.fromCharCode(code);
  if (/[A-Za-z0-9]/.test(char)) ALNUM[code] = 1;
}
const TAIL_BITS = 4095;

export function lowerAscii(code: number): number {
  return code >= 0x41 && code <= 0x5a ? code + 0x20 : code;
}

/** ASCII characters that `normaliseKey` removes. */
const DROPPED = new Uint8Array(128);
for (const char of '-_. \t\n\r\v\f') DROPPED[char.charCodeAt(0)] = 1;

/** Whether `normaliseKey` removes this character. */
function isDropped(code: number): boolean {
  return code < 128 ? DROPPED[code] === 1 : isSpaceOutsideAscii(code);
}

/** The last index at or before `at`, not before `from`, of a character `normaliseKey` keeps; `from - 1` if none. */
function keptAtOrBefore(s: string, at: number, from: number): number {
  let i = at;
  while (i >= from && isDropped(s.charCodeAt(i))) i--;
  return i;
}

/** JavaScript's `\s` outside ASCII (the spaces `normaliseKey` removes there), as in Node 20. */
function isSpaceOutsideAscii(code: number): boolean {
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

const KELVIN = 0x212a;

/**
 * The ASCII character `toLowerCase` turns this one into, when it turns it into
 * exactly one; 128 or more otherwise. Outside ASCII only the Kelvin sign
 * lower-cases to ASCII alone (`k`); the dotted capital I becomes `i` followed
 * by a combining dot.
 */
export function lowerToAscii(code: number): number {
  return code === KELVIN ? 0x6b : lowerAscii(code);
}

/**
 * `tailHash` of the last three characters of the normalised key `s.slice(from,
 * to)` (`x-request-id` ends in `tid`), or -1 when only the full normalisation
 * can tell.
 */
function separatedTail(s: string, from: number, to: number): number {
  let last = -1;
  let middle = -1;
  for (let j = to - 1; j >= from; j--) {
    const code = s.charCodeAt(j);
    if (code >= 128) return -1;
    if (ALNUM[code] !== 1) {
      if (DROPPED[code] !== 1) return -1;
    } else if (last < 0) last = code;
    else if (middle < 0) middle = code;
    else return tailHash(code, middle, last);
  }
  return -1;
}

/**
 * A hash of a key's last three characters, lower-cased, when all three are ASCII
 * letters or digits (then they are also the last three of the normalised key);
 * -1 otherwise, when only the full normalisation can tell.
 */
function tailHash(a: number, b: number, c: number): number {
  if (
    a >= 128 ||
    b >= 128 ||
    c >= 128 ||
    ((ALNUM[a] ?? 0) & (ALNUM[b] ?? 0) & (ALNUM[c] ?? 0)) === 0
  )
    return -1;
  // `| 0x20` lower-cases an ASCII letter and leaves a digit as it is.
  return (((a | 0x20) * 961 + (b | 0x20) * 31 + (c | 0x20)) & TAIL_BITS) >>> 0;
}
