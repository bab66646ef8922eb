import { commonPasswords } from '../auth/common-passwords.js';

/**
 * How guessable a shared secret (`JWT_SECRET_KEY`, `METRICS_PASSWORD`) is.
 * Length alone says little: `12345678901234567890123456789012` and
 * `my-super-secret-jwt-key-for-production-2024` are 32+ bytes yet found by
 * the first rules of any cracking run (HS256 tokens can be tested offline).
 *
 * The rules, in order; the first that matches names the weakness:
 *
 * | rule           | refused                                                                 |
 * | -------------- | ----------------------------------------------------------------------- |
 * | `single_class` | one character class only: all lower case, all digits, ...               |
 * | `repeated`     | a block written again and again (`aaaa…`, `abcabc…`, `Secret1Secret1…`) |
 * | `few_distinct` | fewer than 8 distinct characters                                        |
 * | `guessable`    | under 90 bits  when read as words, sequences, keyboard walks, repeats   |
 *
 * The last rule splits the secret into the cheapest chain of pieces an
 * attacker would guess (in the manner of zxcvbn, much reduced): a word of the
 * bundled common-password list costs the bits of its rank there (`password`
 * 1, a word ranked 5,000th 12), a word of the small list below 6, a year 7,
 * a run of consecutive characters (`0123…`, `abcd…`, `9876…`) or a walk along
 * the keyboard (`qwerty`, `1qaz2wsx`) a few, digits 3.3 each, a separator 2,
 * and any other character the bits of the character set the secret uses. Random keys
 * (`openssl rand -hex 32` at about 300 bits, 32 random bytes in base64url at
 * about 280) are far above the line; a few words with digits are far below.
 */

/**
 * Bits a secret must reach. Random keys estimate near their true strength
 * (of 100,000 random 32-character hex keys, 128 bits each, none estimated under 96), so the
 * line sits below 128 to leave such keys a margin; word chains land far
 * below it.
 */
export const MIN_SECRET_BITS = 90;
/** Longer secrets are judged on their start; a strong start is strong enough. */
const MAX_JUDGED = 512;
const MIN_DISTINCT = 8;

// Words of secrets, configuration and tutorials that the common-password list
// (passwords people pick) misses or keeps only as short entries.
const SECRET_WORDS = [
  'access',
  'admin',
  'api',
  'app',
  'application',
  'auth',
  'backend',
  'bit',
  'bits',
  'change',
  'company',
  'config',
  'default',
  'demo',
  'dev',
  'development',
  'example',
  'express',
  'fake',
  'for',
  'hash',
  'here',
  'hmac',
  'insecure',
  'jwt',
  'key',
  'keys',
  'local',
  'long',
  'my',
  'node',
  'not',
  'our',
  'please',
  'private',
  'prod',
  'production',
  'project',
  'random',
  'refresh',
  'replace',
  'salt',
  'sample',
  'secret',
  'secure',
  'server',
  'service',
  'session',
  'sign',
  'signing',
  'staging',
  'string',
  'strong',
  'super',
  'test',
  'testing',
  'the',
  'this',
  'token',
  'value',
  'very',
  'with',
  'your',
];

const KEYBOARD_ROWS = ['`1234567890-=', 'qwertyuiop[]\\', "asdfghjkl;'", 'zxcvbnm,./'];
// Where each row starts, in key widths, on a US layout.
const ROW_OFFSETS = [0, 1.5, 1.75, 2.25];
const SHIFTED = '~!@#$%^&*()_+QWERTYUIOP{}|ASDFGHJKL:"ZXCVBNM<>?';
const UNSHIFTED = "`1234567890-=qwertyuiop[]\\asdfghjkl;'zxcvbnm,./";
const SEPARATORS = new Set(['-', '_', '.', ' ', ':', '/', '+', '=', ',', '|', '@', '#']);
// Common character substitutions (`p4ssw0rd`), undone before a word lookup.
const LEET: Readonly<Record<string, string>> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
  '!': 'i',
};

const SEPARATOR_BITS = 2;
const WALK_START_BITS = Math.log2(47);
const MAX_COPY_DISTANCE = 64;
const MIN_COPY = 4;
const YEAR_BITS = 7;
const DIGIT_BITS = Math.log2(10);
const YEAR = /^(?:19|20)[0-9]{2}$/;

interface Tables {
  /** Each word and the bits it costs to guess. */
  readonly words: ReadonlyMap<string, number>;
  readonly longestWord: number;
  readonly keyPositions: ReadonlyMap<string, readonly [row: number, column: number]>;
}

let tables: Tables | undefined;

/** Built on first use, so importing the config module does not pay for the word list. */
function tablesOf(): Tables {
  if (tables !== undefined) return tables;
  const words = new Map<string, number>();
  const ownBits = Math.log2(SECRET_WORDS.length);
  for (const word of SECRET_WORDS) words.set(word, ownBits);
  commonPasswords().forEach((entry, rank) => {
    if (entry.length < 4 || entry.length > 16 || !/^[a-z]+$/.test(entry)) return;
    const bits = Math.log2(rank + 2);
    if (bits < (words.get(entry) ?? Number.POSITIVE_INFINITY)) words.set(entry, bits);
  });
  const keyPositions = new Map<string, readonly [number, number]>();
  KEYBOARD_ROWS.forEach((row, r) => {
    Array.from(row).forEach((key, c) => keyPositions.set(key, [r, c + (ROW_OFFSETS[r] ?? 0)]));
  });
  tables = { words, longestWord: 16, keyPositions };
  return tables;
}

type Rule = (value: string) => string | undefined;

function classesOf(value: string): { count: number; size: number } {
  let lower = false;
  let upper = false;
  let digit = false;
  let other = false;
  for (const char of value) {
    if (char >= 'a' && char <= 'z') lower = true;
    else if (char >= 'A' && char <= 'Z') upper = true;
    else if (char >= '0' && char <= '9') digit = true;
    else other = true;
  }
  const flags = [lower, upper, digit, other];
  const sizes = [26, 26, 10, 33];
  return {
    count: flags.filter(Boolean).length,
    size: flags.reduce((sum, on, i) => (on ? sum + (sizes[i] ?? 0) : sum), 0),
  };
}

/** The shortest block the value repeats, by the KMP failure function. */
function period(value: string): number {
  const fail = new Array<number>(value.length).fill(0);
  for (let i = 1, k = 0; i < value.length; i++) {
    while (k > 0 && value[i] !== value[k]) k = fail[k - 1] ?? 0;
    if (value[i] === value[k]) k++;
    fail[i] = k;
  }
  return value.length - (fail[value.length - 1] ?? 0);
}

const singleClass: Rule = (value) =>
  classesOf(value).count === 1 ? 'uses a single kind of character' : undefined;

const repeated: Rule = (value) =>
  period(value) * 2 <= value.length ? 'repeats the same characters' : undefined;

const fewDistinct: Rule = (value) =>
  new Set(value).size < MIN_DISTINCT ? 'uses too few distinct characters' : undefined;

/** Step from one character to the next in a run: +1, -1, or 0 when none. */
function step(a: string, b: string): number {
  const sameClass = (/[0-9]/.test(a) && /[0-9]/.test(b)) || (/[a-z]/.test(a) && /[a-z]/.test(b));
  if (!sameClass) return 0;
  const diff = b.charCodeAt(0) - a.charCodeAt(0);
  if (diff === 1 || diff === -1) return diff;
  // Runs wrap: 7890123 and xyzabc are one run each.
  if ((a === '9' && b === '0') || (a === 'z' && b === 'a')) return 1;
  if ((a === '0' && b === '9') || (a === 'a' && b === 'z')) return -1;
  return 0;
}

function unshift(char: string): string {
  const index = SHIFTED.indexOf(char);
  return index === -1 ? char.toLowerCase() : (UNSHIFTED[index] ?? char);
}

/** The move from key `a` to its neighbour `b` as `row,column-sign`, or `undefined` when not neighbours. */
function move(keys: Tables['keyPositions'], a: string, b: string): string | undefined {
  const p = keys.get(unshift(a));
  const q = keys.get(unshift(b));
  if (p === undefined || q === undefined || (p[0] === q[0] && p[1] === q[1])) return undefined;
  if (Math.abs(p[0] - q[0]) > 1 || Math.abs(p[1] - q[1]) > 1) return undefined;
  return `${String(q[0] - p[0])},${String(Math.sign(q[1] - p[1]))}`;
}

/** Bits for the letter case of a piece: none, all upper, capitalised, alternating, else per capital. */
function caseBits(piece: string): number {
  const lower = piece.toLowerCase();
  if (piece === lower) return 0;
  if (piece === piece.toUpperCase()) return 1;
  if (piece[0] !== lower[0] && piece.slice(1) === lower.slice(1)) return 1;
  const letters = Array.from(piece).filter(
    (char) => char !== char.toLowerCase() || char !== char.toUpperCase(),
  );
  const alternating = letters.every(
    (char, k) =>
      k === 0 ||
      (char === char.toUpperCase()) !== (letters[k - 1] === letters[k - 1]?.toUpperCase()),
  );
  if (alternating) return 2;
  return letters.filter((char) => char !== char.toLowerCase()).length;
}

/**
 * The estimated bits of the cheapest way to build `value` from pieces:
 * dynamic programming over positions, each piece a word, a run, a keyboard
 * walk, a copy of earlier text, a separator or one plain character.
 */
export function estimateBits(value: string): number {
  const { words, longestWord, keyPositions } = tablesOf();
  const text = value.slice(0, MAX_JUDGED);
  const n = text.length;
  const lower = text.toLowerCase();
  const unleet = Array.from(lower, (char) => LEET[char] ?? char).join('');
  const charBits = Math.log2(Math.max(classesOf(text).size, 2));
  const best = new Array<number>(n + 1).fill(Number.POSITIVE_INFINITY);
  best[0] = 0;
  const relax = (from: number, to: number, bits: number): void => {
    const total = (best[from] ?? 0) + bits;
    if (total < (best[to] ?? Number.POSITIVE_INFINITY)) best[to] = total;
  };
  for (let i = 0; i < n; i++) {
    const char = text[i] ?? '';
    relax(i, i + 1, SEPARATORS.has(char) ? Math.min(SEPARATOR_BITS, charBits) : charBits);
    for (let length = 3; length <= longestWord && i + length <= n; length++) {
      const piece = text.slice(i, i + length);
      const plain = lower.slice(i, i + length);
      const swapped = unleet.slice(i, i + length);
      const word = words.get(plain);
      if (word !== undefined) relax(i, i + length, word + caseBits(piece));
      else if (swapped !== plain) {
        const leet = words.get(swapped);
        const swaps = Array.from(plain).filter((c, k) => c !== swapped[k]).length;
        if (leet !== undefined) relax(i, i + length, leet + caseBits(piece) + swaps);
      }
    }
    // Digits are guessed over ten values, not over the whole character set.
    for (let length = 2; length <= 12 && i + length <= n; length++) {
      const piece = text.slice(i, i + length);
      if (!/^[0-9]+$/.test(piece)) break;
      relax(i, i + length, length === 4 && YEAR.test(piece) ? YEAR_BITS : length * DIGIT_BITS + 1);
    }
    // A run of consecutive characters, either direction, in any letter case.
    let end = i + 1;
    const direction = end < n ? step(lower[i] ?? '', lower[end] ?? '') : 0;
    if (direction !== 0) {
      while (end < n && step(lower[end - 1] ?? '', lower[end] ?? '') === direction) end++;
      for (let stop = i + 3; stop <= end; stop++) {
        relax(i, stop, charBits + Math.log2(stop - i) + 1 + caseBits(text.slice(i, stop)));
      }
    }
    // A walk over neighbouring keys: the start key, the length, and each turn.
    let walk = i + 1;
    let turns = 0;
    let heading: string | undefined;
    for (;;) {
      const next =
        walk < n ? move(keyPositions, text[walk - 1] ?? '', text[walk] ?? '') : undefined;
      if (next === undefined) break;
      if (heading !== undefined && next !== heading) turns++;
      heading = next;
      walk++;
      if (walk - i >= 3) relax(i, walk, WALK_START_BITS + Math.log2(walk - i) + 2 * turns);
    }
    // A copy of what came up to 64 characters before (`abcabc`, a walk written
    // twice, a word repeated): costs only where it starts and how long it is,
    // since the text copied is already paid for on the way to `i`.
    for (let distance = 1; distance <= MAX_COPY_DISTANCE && distance <= i; distance++) {
      let length = 0;
      while (i + length < n && lower[i + length] === lower[i + length - distance]) length++;
      if (length < MIN_COPY) continue;
      const copy = text.slice(i, i + length);
      const exact = copy === text.slice(i - distance, i - distance + length);
      const bits = Math.log2(distance) + Math.log2(length) + 1;
      relax(i, i + length, exact ? bits : bits + caseBits(copy));
    }
  }
  return best[n] ?? Number.POSITIVE_INFINITY;
}

const guessable: Rule = (value) =>
  estimateBits(value) < MIN_SECRET_BITS
    ? 'is guessable: made of common words, sequences, keyboard walks or repeats'
    : undefined;

/** The rules, cheapest first; `secretWeakness` reports the first that matches. */
export const SECRET_STRENGTH_RULES: readonly Rule[] = [
  singleClass,
  repeated,
  fewDistinct,
  guessable,
];

/** Why a long-enough secret is still guessable, or `undefined` when it looks random. */
export function guessableSecret(value: string): string | undefined {
  for (const rule of SECRET_STRENGTH_RULES) {
    const why = rule(value);
    if (why !== undefined) return why;
  }
  return undefined;
}
