import { describe, expect, it } from 'vitest';
import { createTextScanner } from '../../src/redaction/redact.js';

/*
 * Linear time, checked as a ratio of work and never with a timer: the number
 * of characters the scanner reads on 2 MB of a hostile input must stay close
 * to twice what it reads on 1 MB. A quadratic matcher reads four times as
 * much; a linear one, twice.
 */

const MB = 1 << 20;
const scanner = createTextScanner();

/** Redacts `input` through a string whose every `charCodeAt` is counted. */
function measured(input: string): { reads: number; output: string } {
  let reads = 0;
  const counted = Object.defineProperty(new String(input), 'charCodeAt', {
    value(index: number): number {
      reads++;
      return input.charCodeAt(index);
    },
  });
  // With nothing to redact the scanner hands back the very object it was given.
  const result: unknown = scanner.scan(counted as unknown as string, undefined);
  return { reads, output: String(result) };
}

const fill = (unit: string, size: number): string => unit.repeat(Math.ceil(size / unit.length));

// [name, repeated unit or generator, check on the 1 MB output]
const HOSTILE: readonly [string, (size: number) => string, (output: string) => boolean][] = [
  ['a@', (n) => fill('a@', n), (out) => !out.includes('[REDACTED')],
  ['x@x.', (n) => fill('x@x.', n), (out) => !out.includes('[REDACTED')],
  ['1.', (n) => fill('1.', n), (out) => !out.includes('[REDACTED')],
  ['1.1.1.1 runs', (n) => fill('1.1.1.1.', n), (out) => !out.includes('[REDACTED')],
  ['eyJ.', (n) => fill('eyJ.', n), (out) => !out.includes('[REDACTED')],
  ['eyJ base64url', (n) => `eyJ${'A'.repeat(n)}`, (out) => out.startsWith('eyJAAA')],
  ['eyJa-', (n) => fill('eyJa-', n), (out) => !out.includes('[REDACTED')],
  ['base64', (n) => fill('QUJDRA+/', n), (out) => !out.includes('[REDACTED')],
  ['sk-a', (n) => fill('sk-a', n), (out) => !out.includes('[REDACTED')],
  ['ghp_ runs', (n) => fill('ghp_a', n), (out) => !out.includes('[REDACTED')],
  ['colons', (n) => fill('a:', n), (out) => !out.includes('[REDACTED')],
  ['hex colons', (n) => fill('ab:', n), (out) => out.length > 0],
  ['digits and spaces', (n) => fill('4 ', n), (out) => out.length > 0],
  ['long digit run', (n) => '4'.repeat(n), (out) => out === '4'.repeat(MB)],
  [
    'url userinfo',
    (n) => fill('http://a:b@', n),
    (out) => out.includes('[REDACTED:url_credentials]'),
  ],
  [
    'begin markers',
    (n) => fill('-----BEGIN PRIVATE KEY-----', n),
    (out) => out.includes('[REDACTED:private_key]'),
  ],
  ['password=', (n) => fill('password=', n), (out) => out.includes('password=')],
  ['quoted keys', (n) => fill('"token":"', n), (out) => out.length > 0],
  ['Bearer', (n) => fill('Bearer ', n), (out) => !out.includes('[REDACTED')],
  ['local part', (n) => `${'a'.repeat(n)}@example`, (out) => !out.includes('[REDACTED')],
  ['plus signs', (n) => fill('+1 ', n), (out) => out.length > 0],
  ['IBAN starts', (n) => fill('DE89 ', n), (out) => !out.includes('[REDACTED')],
  ['birth labels', (n) => fill('DOB: ', n), (out) => !out.includes('[REDACTED')],
  ['element opens', (n) => fill('<password>', n), (out) => out.length > 0],
  [
    'key block bodies',
    (n) => `-----BEGIN PRIVATE KEY-----\n${'A'.repeat(n)}`,
    (out) => out.includes('[REDACTED:private_key]'),
  ],
];

describe('redactText: linear time on hostile input (work ratio, 2 MB vs 1 MB)', () => {
  it.each(HOSTILE)('%s', (_name, make, check) => {
    const one = measured(make(MB));
    const two = measured(make(2 * MB));
    expect(check(one.output)).toBe(true);
    expect(two.reads / one.reads).toBeLessThan(2.1);
    expect(two.reads / one.reads).toBeGreaterThan(1.9);
  });
});
