import { describe, expect, it } from 'vitest';
import { createRedactor, redactText, type RedactionCategory } from '../../src/index.js';
import { DIGITS, grouped, ibanFor, randomFrom, rng } from './generate.js';

/*
 * Personal data categories: generated true positives in several contexts, and
 * a near-miss corpus over which the false-positive rate is measured (and must
 * be zero).
 */

const random = rng(424242);
const digits = (n: number): string => randomFrom(random, DIGITS, n);
const nanp = (): string => `${String(2 + Math.floor(random() * 8))}${digits(2)}`;

const PHONES: readonly string[] = [
  `+1 ${nanp()} ${nanp()} ${digits(4)}`,
  `+1-${nanp()}-${nanp()}-${digits(4)}`,
  `+44 20 ${digits(4)} ${digits(4)}`,
  `+44 (0)20 ${digits(4)} ${digits(4)}`,
  `+33 6 ${digits(2)} ${digits(2)} ${digits(2)} ${digits(2)}`,
  `+49 30 ${digits(8)}`,
  `+${String(1 + Math.floor(random() * 9))}${digits(11)}`,
  `+1.${nanp()}.${nanp()}.${digits(4)}`,
  `(${nanp()}) ${nanp()}-${digits(4)}`,
  `${nanp()}-${nanp()}-${digits(4)}`,
  `${nanp()}.${nanp()}.${digits(4)}`,
  `1-${nanp()}-${nanp()}-${digits(4)}`,
  `020 ${digits(4)} ${digits(4)}`,
  `06 ${digits(2)} ${digits(2)} ${digits(2)} ${digits(2)}`,
  `030-${digits(8)}`,
];

const IBAN_COUNTRIES: readonly [string, number][] = [
  ['DE', 22],
  ['GB', 22],
  ['FR', 27],
  ['NL', 18],
  ['ES', 24],
  ['IT', 27],
  ['CH', 21],
  ['NO', 15],
  ['MT', 31],
];
const IBANS = IBAN_COUNTRIES.flatMap(([country, length]) => {
  const iban = ibanFor(random, country, length);
  return [iban, grouped(iban)];
});

function ssn(): string {
  const area = String(1 + Math.floor(random() * 665)).padStart(3, '0');
  return `${area}-${String(1 + Math.floor(random() * 98)).padStart(2, '0')}-${String(1 + Math.floor(random() * 9998)).padStart(4, '0')}`;
}
const SSNS = [ssn(), ssn(), ssn(), ssn().replace(/-/g, ' ')];

const CONTEXTS: readonly [string, (value: string) => string][] = [
  ['alone', (x) => x],
  ['log line', (x) => `2024-05-01T12:00:00Z INFO contact updated value=${x} ok`],
  ['JSON value', (x) => `{"value":"${x}","n":1}`],
  ['quoted', (x) => `said '${x}'.`],
  ['line end', (x) => `call\nback on ${x}\n`],
];

function table(category: RedactionCategory, values: readonly string[]) {
  const marker = `[REDACTED:${category}]`;
  return values.flatMap((value) =>
    CONTEXTS.map(([context, wrap]) => [value, context, wrap(value), wrap(marker)] as const),
  );
}

describe.each([
  ['phone', PHONES],
  ['iban', IBANS],
  ['ssn', SSNS],
] as const)('%s: generated values in every context', (category, values) => {
  const only = createRedactor({ categories: [category] });
  it.each(table(category, values))('%s, %s', (_value, _context, input, expected) => {
    expect(only.text(input)).toBe(expected);
    expect(redactText(input)).toBe(expected);
  });
});

describe('dob: a date next to a birth label', () => {
  const only = createRedactor({ categories: ['dob'] });
  it.each([
    ['DOB: 1990-04-23', 'DOB: [REDACTED:dob]'],
    ['dob=23.04.1990 next', 'dob=[REDACTED:dob] next'],
    ['{"date_of_birth": "1990-04-23"}', '{"date_of_birth": "[REDACTED:dob]"}'],
    ['{"dateOfBirth":"04/23/1990"}', '{"dateOfBirth":"[REDACTED:dob]"}'],
    ['Date of birth: 23 April 1990.', 'Date of birth: [REDACTED:dob].'],
    ['born on April 23, 1990 in Leeds', 'born on [REDACTED:dob] in Leeds'],
    ['birthdate 1990/04/23', 'birthdate [REDACTED:dob]'],
    ['Birthday - 23 Apr 1990', 'Birthday - [REDACTED:dob]'],
    ['D.O.B. 23-04-1990', 'D.O.B. [REDACTED:dob]'],
  ])('%s', (input, expected) => {
    expect(only.text(input)).toBe(expected);
  });

  it('can be switched off', () => {
    expect(redactText('DOB: 1990-04-23', { categories: { dob: false } })).toBe('DOB: 1990-04-23');
  });
});

// Text that looks like personal data to a careless rule: none of it may change.
const NEAR_MISSES: readonly string[] = [
  'released 2024-05-01, patched 2024-05-02T12:34:56.789Z',
  'dates 01.02.2024 and 12/05/2024 and 2024/05/01',
  'timestamps 1716912345678 and 1716912345',
  'numbers 10 20 30 40 50 and 1 2 3 4 5 6 7 8 9 10',
  'amounts 1,234,567.89 and +1234.56 and -12.5 and +5',
  'local 555-1234 and ext 1234',
  'ISBN 978-3-16-148410-0',
  'order #123456789 and invoice 2024-000123',
  'version 1.2.3 and 10.0.19045.3803',
  'port 8080 and pid 4242',
  'pi 3.14159265358979',
  'ssn-like 000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000',
  'longer 123-45-67890 and 1234-56-7890',
  'iban-like DE89370400440532013001 and DE8937040044053201300',
  'lowercase code de89 and GB22',
  'updated: 1990-04-23 and created 1990-04-23',
  'stubborn 1990-04-23 and reborn 1990-04-23',
  'uuid 550e8400-e29b-41d4-a716-446655440000',
  'sha 3f786850e387550fdab836ed7e6dc881de23001b',
  'ranges 100-200 and 2000-3000 and 10-20-30',
  'coordinates 51.5074, -0.1278',
  'phone-ish 1234567890 and 0000000000',
  'card-ish 4111 1111 1111 1112',
  'time 12:34:56 and duration 01:02:03',
];

describe('personal data: near-misses', () => {
  it.each(NEAR_MISSES)('%j stays', (input) => {
    expect(redactText(input)).toBe(input);
  });

  it('has a false-positive rate of zero over the near-miss corpus', () => {
    const personal = createRedactor({ categories: ['phone', 'iban', 'ssn', 'dob', 'card'] });
    const changed = NEAR_MISSES.filter((line) => personal.text(line) !== line);
    expect(changed.length / NEAR_MISSES.length).toBe(0);
  });
});
