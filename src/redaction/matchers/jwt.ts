import { B64URL, DOT, is, match, skip, WORD, type Matcher, type Outcome } from '../text.js';

/** A part longer than this is not looked at further: the bound the stream redactor holds back. */
export const MAX_JWT_PART = 8192;

/**
 * JWS compact form `header.payload.signature` (the signature may be empty,
 * `alg: none`), unsigned `header.payload` when the payload is JSON too
 * (`eyJ`), and JWE compact form (five parts; the encrypted key may be empty).
 * Each part is base64url; the header starts with `eyJ` (`{"`).
 */
function findJwt(s: string, i: number): Outcome {
  if (!s.startsWith('eyJ', i)) return i + 1;
  const headerEnd = skip(s, i, B64URL, MAX_JWT_PART);
  if (headerEnd - i < 10 || s.charCodeAt(headerEnd) !== DOT) return headerEnd;
  const ends = [headerEnd];
  let j = headerEnd;
  while (ends.length < 5 && s.charCodeAt(j) === DOT) {
    j = skip(s, j + 1, B64URL, MAX_JWT_PART);
    ends.push(j);
  }
  const payloadStart = headerEnd + 1;
  const payloadEnd = ends[1] ?? payloadStart;
  const parts = ends.length;
  // A JWE: five parts, the last three non-empty (IV, ciphertext, tag).
  if (parts === 5 && (ends[4] ?? 0) > (ends[3] ?? 0) + 1 && (ends[3] ?? 0) > (ends[2] ?? 0) + 1) {
    if (!is(s.charCodeAt(j), WORD)) return match(i, j, 'jwt');
  }
  if (payloadEnd - payloadStart < 2) return j;
  if (parts >= 3) return match(i, ends[2] ?? j, 'jwt');
  if (payloadEnd - payloadStart >= 10 && s.startsWith('eyJ', payloadStart)) {
    return match(i, payloadEnd, 'jwt');
  }
  return j;
}

export const jwt: Matcher = {
  category: 'jwt',
  words: ['ey'],
  lookahead: 4,
  find: findJwt,
};
