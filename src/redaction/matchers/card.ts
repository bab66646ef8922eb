import { DASH, DIGIT, DOT, is, match, SPACE, WORD, type Matcher, type Outcome } from '../text.js';

/**
 * Issuer ranges (ISO/IEC 7812 IINs as the networks publish them) and the
 * lengths each issues: `[lowest prefix, highest prefix, shortest, longest]`,
 * compared on as many leading digits as the prefix has. A number outside every
 * range is not a card, whatever its Luhn sum: that keeps 13-digit millisecond
 * timestamps (they start with 1, and UATP's 1 is 15 digits only) and most ids.
 */
export const CARD_ISSUERS: readonly (readonly [string, string, number, number])[] = [
  ['1', '1', 15, 15], // UATP
  ['2200', '2204', 16, 19], // Mir
  ['2221', '2720', 16, 16], // Mastercard 2-series
  ['300', '305', 14, 19], // Diners Club International
  ['34', '34', 15, 15], // American Express
  ['353', '356', 16, 19], // RuPay (JCB co-brand) / JCB
  ['3528', '3589', 16, 19], // JCB
  ['36', '36', 14, 19], // Diners Club
  ['37', '37', 15, 15], // American Express
  ['38', '39', 14, 19], // Diners Club
  ['4', '4', 13, 19], // Visa (and Visa Electron, Dankort co-brand)
  ['50', '50', 12, 19], // Maestro, Dankort
  ['51', '55', 16, 16], // Mastercard
  ['56', '58', 12, 19], // Maestro
  ['60', '60', 16, 19], // RuPay, Discover 6011
  ['62', '62', 16, 19], // UnionPay
  ['63', '69', 12, 19], // Maestro, Discover 644-649 and 65, InterPayment 636
  ['81', '82', 16, 19], // UnionPay 81, RuPay 82
  ['8600', '8600', 16, 16], // UzCard
  ['9792', '9792', 16, 16], // Troy
  ['9860', '9860', 16, 16], // Humo
];

/** Whether an issuer in the table issues `length`-digit numbers starting with `first6`. */
export function issuerAccepts(first6: string, length: number): boolean {
  for (const [low, high, shortest, longest] of CARD_ISSUERS) {
    if (length < shortest || length > longest) continue;
    const prefix = first6.slice(0, low.length);
    if (prefix.length === low.length && prefix >= low && prefix <= high) return true;
  }
  return false;
}

const MIN_DIGITS = 12;
const MAX_DIGITS = 19;

/**
 * 12 to 19 digits, optionally grouped by single spaces or dashes, with an
 * issuer's prefix and length and a valid Luhn sum; the longest such number
 * wins. The Luhn sum of every candidate length comes from two running sums
 * (one per parity), so no digit is stored.
 */
function findCard(s: string, i: number): Outcome {
  if (i > 0 && s.charCodeAt(i - 1) === DOT) return i + 1;
  let j = i;
  let digits = 0;
  let first6 = '';
  let plain = 0;
  let extraEven = 0;
  let extraOdd = 0;
  let end = -1;
  while (digits < MAX_DIGITS) {
    const code = s.charCodeAt(j);
    if (is(code, DIGIT)) {
      const d = code - 48;
      const doubled = d * 2 > 9 ? d * 2 - 9 : d * 2;
      if (digits % 2 === 0) extraEven += doubled - d;
      else extraOdd += doubled - d;
      plain += d;
      if (digits < 6) first6 += String.fromCharCode(code);
      digits++;
      j++;
      if (digits >= MIN_DIGITS && !is(s.charCodeAt(j), DIGIT) && !is(s.charCodeAt(j), WORD)) {
        // Luhn doubles every second digit from the right: the ones whose parity differs from the last's.
        const sum = plain + (digits % 2 === 0 ? extraEven : extraOdd);
        if (sum % 10 === 0 && issuerAccepts(first6, digits)) end = j;
      }
    } else if ((code === SPACE || code === DASH) && is(s.charCodeAt(j + 1), DIGIT)) {
      j++;
    } else break;
  }
  return end < 0 ? i + 1 : match(i, end, 'card');
}

export const card: Matcher = {
  category: 'card',
  words: ['digits'],
  lookahead: MAX_DIGITS * 2 + 2,
  find: findCard,
};
