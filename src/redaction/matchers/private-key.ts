import {
  is,
  KEY_BODY,
  match,
  UPPER,
  DIGIT,
  SPACE_BIT,
  skip,
  LOWER_HEX,
  WORD,
  DOTS,
  type Matcher,
  type Outcome,
} from '../text.js';

/**
 * The longest key block looked at: an RSA-16384 key in PEM is about 12.5 KiB,
 * so 32 KiB holds any real one, escaped newlines included.
 */
export const MAX_KEY_BLOCK = 32 * 1024;
const MAX_LABEL = 64;

/**
 * The end of a key's body from `from`: at the END line (after it), before
 * another BEGIN line, at the first character a body cannot hold, or at the
 * cap. Base64, line breaks, `Proc-Type:`/`DEK-Info:` headers and JSON-escaped
 * newlines (`\n`) are body.
 */
function bodyEnd(s: string, from: number, begin: string, end: string): number {
  const limit = from + MAX_KEY_BLOCK;
  let j = from;
  while (j < limit && is(s.charCodeAt(j), KEY_BODY)) {
    if (s.charCodeAt(j) === 0x2d) {
      if (s.startsWith(end, j)) {
        const labelEnd = skip(s, j + end.length, UPPER | DIGIT | SPACE_BIT, MAX_LABEL + 1);
        const dashes = begin.startsWith('-----') ? '-----' : '----';
        return s.startsWith(dashes, labelEnd) ? labelEnd + dashes.length : labelEnd;
      }
      if (s.startsWith(begin, j)) break;
    }
    j++;
  }
  return withoutLineBreak(s, from, j);
}

/**
 * One trailing line break belongs to the text after the block. Only one: the
 * stream redactor relies on no matcher reading more than two characters past
 * a match.
 */
function withoutLineBreak(s: string, from: number, to: number): number {
  let j = to;
  if (j > from && s.charCodeAt(j - 1) === 0x0a) j--;
  if (j > from && s.charCodeAt(j - 1) === 0x0d) j--;
  return j;
}

/**
 * PEM (`-----BEGIN … PRIVATE KEY-----`: PKCS#1, PKCS#8, SEC1, OpenSSH,
 * encrypted) and SSH2 (`---- BEGIN SSH2 … PRIVATE KEY ----`) blocks to their
 * END line; without one, the header and the body after it.
 */
function findKeyBlock(s: string, i: number): Outcome {
  let begin: string;
  let end: string;
  if (s.startsWith('-----BEGIN ', i)) {
    begin = '-----BEGIN ';
    end = '-----END ';
  } else if (s.startsWith('---- BEGIN ', i)) {
    begin = '---- BEGIN ';
    end = '---- END ';
  } else return i + 1;
  const labelStart = i + begin.length;
  const labelEnd = skip(s, labelStart, UPPER | DIGIT | SPACE_BIT, MAX_LABEL + 1);
  const dashes = begin.startsWith('-----') ? '-----' : ' ----';
  const closing = begin.startsWith('-----') ? labelEnd : labelEnd - 1;
  if (
    labelEnd - labelStart > MAX_LABEL ||
    !s.startsWith(dashes, closing) ||
    !s.slice(labelStart, labelEnd).includes('PRIVATE KEY')
  ) {
    return i + 1;
  }
  const headerEnd = closing + dashes.length;
  return match(i, bodyEnd(s, headerEnd, begin, end), 'private_key');
}

export const pemKey: Matcher = {
  category: 'private_key',
  chars: '-',
  lookahead: '-----BEGIN '.length + MAX_LABEL + 8,
  find: findKeyBlock,
};

/**
 * PuTTY key files (`PuTTY-User-Key-File-2:` or `-3:`): the whole file, to the
 * hex of its `Private-MAC:` line; without one, the header and the lines after it.
 */
function findPutty(s: string, i: number): Outcome {
  if (!s.startsWith('PuTTY-User-Key-File-', i)) return i + 1;
  const limit = i + MAX_KEY_BLOCK;
  let j = i;
  while (j < limit && (is(s.charCodeAt(j), KEY_BODY | WORD | DOTS) || s.charCodeAt(j) === 0x40)) {
    if (s.charCodeAt(j) === 0x50 && s.startsWith('Private-MAC: ', j)) {
      return match(i, skip(s, j + 13, LOWER_HEX, 129), 'private_key');
    }
    j++;
  }
  return match(i, withoutLineBreak(s, i, j), 'private_key');
}

export const puttyKey: Matcher = {
  category: 'private_key',
  words: ['PuTTY-User-Key-File-'],
  lookahead: 32,
  find: findPutty,
};
