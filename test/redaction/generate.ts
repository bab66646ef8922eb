import { crc32 } from 'node:zlib';
import { seededRandom } from '../helpers/random.js';

/*
 * Test fixtures made at test time from each format's public definition
 * (prefix, alphabet, length, checksum), from a seeded generator: nothing in
 * the repository is a literal that looks like a real credential.
 */

export const rng = seededRandom;

export const LOWER = 'abcdefghijklmnopqrstuvwxyz';
export const UPPER = LOWER.toUpperCase();
export const DIGITS = '0123456789';
export const ALNUM = UPPER + LOWER + DIGITS;
export const B64URL = `${ALNUM}_-`;
export const HEX_LOWER = `${DIGITS}abcdef`;
export const HEX = `${DIGITS}abcdefABCDEF`;
export const BASE64 = `${ALNUM}+/`;

/** The characters of an ASCII string. */
function chars(ascii: string): string[] {
  return Array.from({ length: ascii.length }, (_, k) => ascii.charAt(k));
}

/** `length` characters of `alphabet`, with at least one digit, one capital and one lower-case letter where the alphabet has them. */
export function randomFrom(random: () => number, alphabet: string, length: number): string {
  let out = '';
  for (let k = 0; k < length; k++) out += alphabet.charAt(Math.floor(random() * alphabet.length));
  const wanted = [DIGITS, UPPER, LOWER].filter((set) =>
    chars(set).some((c) => alphabet.includes(c)),
  );
  wanted.forEach((set, index) => {
    if (length > index && !chars(out).some((c) => set.includes(c))) {
      const usable = chars(set).filter((c) => alphabet.includes(c));
      out = out.slice(0, index) + (usable[0] ?? '') + out.slice(index + 1);
    }
  });
  return out;
}

const BASE62 = `${DIGITS}${UPPER}${LOWER}`;

/** A GitHub-style token: prefix, 30 random base62 characters and their CRC32 in 6 base62 digits. */
export function githubToken(random: () => number, prefix: string): string {
  const body = randomFrom(random, BASE62, 30);
  let checksum = crc32(body);
  let encoded = '';
  for (let k = 0; k < 6; k++) {
    encoded = BASE62.charAt(checksum % 62) + encoded;
    checksum = Math.floor(checksum / 62);
  }
  return `${prefix}${body}${encoded}`;
}

/** Appends the Luhn check digit to `partial`. */
export function withLuhn(partial: string): string {
  let sum = 0;
  for (let k = 0; k < partial.length; k++) {
    let d = Number(partial.charAt(partial.length - 1 - k));
    if (k % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${partial}${String((10 - (sum % 10)) % 10)}`;
}

/** A Luhn-valid number of `length` digits starting with `prefix`. */
export function cardNumber(random: () => number, prefix: string, length: number): string {
  return withLuhn(prefix + randomFrom(random, DIGITS, length - prefix.length - 1));
}

/** An IBAN for `country` with a random BBAN of the right length and computed check digits. */
export function ibanFor(random: () => number, country: string, length: number): string {
  const bban = randomFrom(random, DIGITS, length - 4);
  const numeric = chars(`${bban}${country}00`)
    .map((c) => (c >= 'A' && c <= 'Z' ? String(c.charCodeAt(0) - 55) : c))
    .join('');
  let remainder = 0;
  for (const digit of numeric) remainder = (remainder * 10 + Number(digit)) % 97;
  const check = String(98 - remainder).padStart(2, '0');
  return `${country}${check}${bban}`;
}

/** The same string in groups of four, as IBANs are printed. */
export function grouped(value: string): string {
  return value.replace(/(.{4})(?=.)/g, '$1 ');
}
