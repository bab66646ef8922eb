import { describe, expect, it } from 'vitest';
import {
  KeyMatcher,
  normaliseKey,
  SECRET_KEY_NAMES,
  SECRET_KEY_SUFFIXES,
} from '../../src/redaction/keys.js';
import { seededRandom } from '../helpers/random.js';

// The matcher rules most keys out by their last characters before it
// normalises them, and caches its decisions; the rule it must agree with is the
// documented one, spelled out here.
function reference(extraKeys: readonly string[]): (key: string) => boolean {
  const exact = new Set([...SECRET_KEY_NAMES, ...extraKeys.map(normaliseKey)]);
  return (key) => {
    const normal = normaliseKey(key);
    return exact.has(normal) || SECRET_KEY_SUFFIXES.some((suffix) => normal.endsWith(suffix));
  };
}

// Rule words, near misses, separators normaliseKey drops, punctuation it keeps,
// and characters outside ASCII, some of which lower-case to ASCII (the Kelvin
// sign to `k`, the dotted capital I to `i` and a combining dot).
const PIECES = [
  ...SECRET_KEY_SUFFIXES,
  ...SECRET_KEY_NAMES,
  'max',
  'tokens',
  'type',
  'id',
  'x',
  'request',
  'content',
  'length',
  'API',
  'Key',
  'KEY',
  'Token',
  '2',
  '-',
  '_',
  '.',
  ' ',
  '\t',
  '$',
  '@',
  ':',
  '/',
  '\u212a',
  '\u0130',
  'é',
  '\u00a0',
  'ſ',
  'ñ',
];

function randomKey(random: () => number): string {
  const parts = 1 + Math.floor(random() * 4);
  let key = '';
  for (let i = 0; i < parts; i++) {
    let piece = PIECES[Math.floor(random() * PIECES.length)] ?? '';
    if (random() < 0.3) piece = piece.toUpperCase();
    key += piece;
  }
  return key;
}

describe('KeyMatcher', () => {
  it.each([
    ['the default rules', []],
    ['extra ASCII keys', ['myField', 'x_token2', 'Session-Key', 'keyring']],
    ['an extra key shorter than three characters', ['pk']],
    ['an extra key outside ASCII', ['contraseña']],
    ['an extra key with punctuation normaliseKey keeps', ['api$key']],
  ])('agrees with normaliseKey and the rule lists on 20,000 generated keys, %s', (_, extra) => {
    const matcher = new KeyMatcher(extra);
    const expected = reference(extra);
    const random = seededRandom(extra.length + 7);
    // The Kelvin sign lower-cases to `k`, before and inside the last three characters.
    const keys = [
      ...extra,
      'apiKEY',
      'api\u212aey',
      '\u212aeyring',
      '-\u212aey.ring',
      // With the extra key `pk`, the Kelvin sign is the last of a rule's last two letters.
      'p\u212a',
      'x-request-id',
      'id',
      '',
      'a$password',
    ];
    for (let i = 0; i < 20_000; i++) keys.push(randomKey(random));
    const disagreements = keys.filter((key) => matcher.matches(key) !== expected(key));
    expect(disagreements).toEqual([]);
    // The filters text scanning runs before it slices a key out must never rule out one that matches.
    const ruledOut = keys.filter((key) => {
      const text = `a=b ${key}`;
      const from = text.length - key.length;
      return (
        expected(key) &&
        (!matcher.mayMatch(text, from, text.length) || !matcher.mayEndAt(text, text.length, from))
      );
    });
    expect(ruledOut).toEqual([]);
    // The generator must reach both answers often, or agreement says little.
    const hits = keys.filter((key) => expected(key)).length;
    expect(hits).toBeGreaterThan(keys.length / 10);
    expect(hits).toBeLessThan(keys.length - keys.length / 10);
  });

  it('reads past every space normaliseKey removes outside ASCII', () => {
    const matcher = new KeyMatcher([]);
    const spaces: string[] = [];
    for (let code = 128; code < 0x10000; code++) {
      if (/\s/.test(String.fromCharCode(code))) spaces.push(String.fromCharCode(code));
    }
    expect(spaces.length).toBeGreaterThan(10);
    const ruledOut = spaces.filter((space) => {
      const key = `pass${space}word${space}`;
      return !matcher.matches(key) || !matcher.mayEndAt(key, key.length, 0);
    });
    expect(ruledOut).toEqual([]);
  });
});
