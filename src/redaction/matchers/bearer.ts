import {
  EQUALS,
  isBlank,
  match,
  SPACE,
  skip,
  TOKEN68,
  UPPER,
  LOWER,
  is,
  wordAt,
  type Matcher,
  type Outcome,
} from '../text.js';

const MAX_TOKEN = 8192;

/** `Bearer <token>` and `Basic <base64 user:pass>`; the scheme word stays. */
function findBearer(s: string, i: number): Outcome {
  let basic = false;
  let j: number;
  if (wordAt(s, i, 'bearer')) j = i + 6;
  else if (wordAt(s, i, 'basic')) {
    j = i + 5;
    basic = true;
  } else return i + 1;
  const afterWord = j;
  while (j - afterWord < 16 && isBlank(s.charCodeAt(j))) j++;
  if (j === afterWord) return i + 1;
  const tokenStart = j;
  let end = skip(s, tokenStart, TOKEN68, MAX_TOKEN);
  const bodyEnd = end;
  while (end - bodyEnd < 3 && s.charCodeAt(end) === EQUALS) end++;
  const length = bodyEnd - tokenStart;
  if (basic) {
    if (length < 4 || !decodesToUserPass(s.slice(tokenStart, end))) return end;
  } else if (!(length >= 20 || (length >= 8 && hasDigitOrPunctuation(s, tokenStart, bodyEnd)))) {
    return end;
  }
  return match(tokenStart, end, 'bearer');
}

function hasDigitOrPunctuation(s: string, from: number, to: number): boolean {
  for (let j = from; j < to; j++) if (!is(s.charCodeAt(j), UPPER | LOWER)) return true;
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

export const bearer: Matcher = {
  category: 'bearer',
  words: ['Be', 'be', 'BE', 'bE', 'Ba', 'ba', 'BA', 'bA'],
  lookahead: 32,
  find: findBearer,
};
