import { describe, expect, it } from 'vitest';
import { BulwarkConfigError, prepareLogsForLLM, type PrepareLogsOptions } from '../../src/index.js';
import { FAKE } from './fakes.js';
import { growthRatio } from '../helpers/linear.js';

describe('prepareLogsForLLM', () => {
  it.each([
    ['plain ERROR', '2024-05-01T12:00:00Z ERROR db down'],
    ['plain FATAL', 'FATAL: out of memory'],
    ['plain CRITICAL', '[2024-05-01 12:00:00] CRITICAL disk full'],
    ['plain PANIC', 'PANIC: runtime error: index out of range'],
    ['tagged [error]', '[error] upstream closed'],
    ['logfmt', 'ts=1 level=error msg="boom"'],
    ['pino error', '{"level":50,"time":1,"msg":"boom"}'],
    ['pino fatal', '{"level":60,"time":1,"msg":"boom"}'],
    ['bunyan', '{"name":"api","hostname":"h","pid":1,"level":50,"msg":"boom","v":0}'],
    ['string level', '{"level":"error","msg":"boom"}'],
    ['GCP severity', '{"severity":"CRITICAL","message":"boom"}'],
    ['python levelname', '{"levelname":"ERROR","message":"boom"}'],
    ['ECS log.level', '{"log.level":"error","message":"boom"}'],
    ['nested log.level', '{"log":{"level":"fatal"},"message":"boom"}'],
  ])('keeps %s lines', (_name, line) => {
    const result = prepareLogsForLLM(`INFO start\n${line}\nDEBUG tick\n`);
    expect(result).toMatchObject({ lines: 3, kept: 1, dropped: 2, truncated: false });
  });

  it.each([
    ['INFO', '2024-05-01T12:00:00Z INFO no error found'],
    ['WARN', 'WARN retrying'],
    ['pino warn', '{"level":40,"msg":"error budget at 80%"}'],
    ['lower-case word', 'info: recovered from error'],
    ['bunyan info', '{"level":30,"msg":"ERROR in name only"}'],
    ['word inside another', 'INFO TERRORS movie night'],
  ])('drops %s lines', (_name, line) => {
    expect(prepareLogsForLLM([line])).toMatchObject({ kept: 0, dropped: 1, text: '' });
  });

  it('keeps stack-trace lines that follow a kept line', () => {
    const log = [
      'INFO ok',
      'ERROR request failed',
      'TypeError: cannot read x',
      '    at handler (/srv/app.js:10:5)',
      '    at next (/srv/app.js:20:3)',
      'Caused by: timeout',
      'INFO next request',
      '    indented but after an info line',
    ].join('\n');
    const result = prepareLogsForLLM(log);
    expect(result.kept).toBe(5);
    expect(result.text.split('\n')).toEqual([
      'ERROR request failed',
      'TypeError: cannot read x',
      '    at handler (/srv/app.js:10:5)',
      '    at next (/srv/app.js:20:3)',
      'Caused by: timeout',
    ]);
  });

  it('redacts every category, parsing JSON lines instead of matching their text', () => {
    const lines = [
      `ERROR login for ann@example.com from 203.0.113.7 with Bearer ${FAKE.bearer} password=FAKE`,
      JSON.stringify({
        level: 50,
        time: 1716912345678,
        msg: `key ${FAKE.openai}`,
        req: { headers: { authorization: 'Basic FAKE' } },
      }),
    ];
    const result = prepareLogsForLLM(lines);
    expect(result.text.split('\n')).toEqual([
      'ERROR login for [REDACTED:email] from [REDACTED:ip] with Bearer [REDACTED:bearer] password=[REDACTED]',
      '{"level":50,"time":1716912345678,"msg":"key [REDACTED:api_key]","req":{"headers":{"authorization":"[REDACTED]"}}}',
    ]);
    expect(result.redacted).toEqual({
      email: 1,
      ip: 1,
      bearer: 1,
      assignment: 1,
      key: 1,
      api_key: 1,
    });
  });

  it('caps the size, keeps the earliest errors and says how many were left out', () => {
    const lines = Array.from(
      { length: 1000 },
      (_, i) => `ERROR failure number ${String(i)} ${'x'.repeat(40)}`,
    );
    const result = prepareLogsForLLM(lines, { maxBytes: 1024 });
    expect(Buffer.byteLength(result.text)).toBeLessThanOrEqual(1024 + 100);
    expect(result.truncated).toBe(true);
    expect(result.text.startsWith('ERROR failure number 0 ')).toBe(true);
    expect(result.kept + result.dropped).toBe(1000);
    expect(result.text).toContain(`[${String(1000 - result.kept)} more error lines left out`);
  });

  it('cuts a single very long line', () => {
    const result = prepareLogsForLLM([`ERROR ${'y'.repeat(10_000)}`], { maxLineLength: 100 });
    expect(result.text).toHaveLength(100 + ' [line cut]'.length);
    expect(result.truncated).toBe(true);
  });

  it('accepts extra keys and patterns', () => {
    const result = prepareLogsForLLM(['ERROR ssn=123-45-6789 ref EMP-123456'], {
      keys: ['ssn'],
      patterns: [{ category: 'employee_id', pattern: /EMP-\d{6}/ }],
    });
    expect(result.text).toBe('ERROR ssn=[REDACTED] ref [REDACTED:employee_id]');
  });

  it('handles an empty log and CRLF line ends', () => {
    expect(prepareLogsForLLM('')).toMatchObject({ text: '', lines: 0, kept: 0, dropped: 0 });
    expect(prepareLogsForLLM('ERROR a\r\nINFO b\r\n')).toMatchObject({ text: 'ERROR a', lines: 2 });
  });

  it('classifies 1 MB of hostile lines in linear time', () => {
    const hostile = (n: number) =>
      `${' ERROR'.repeat(n / 5)}\n${'{'.repeat(n)}\n${'a@'.repeat(n / 2)}`;
    expect(prepareLogsForLLM(hostile(1 << 20))).toMatchObject({ lines: 3 });
    // Four times the input, about four times the work; a quadratic pass would take sixteen.
    expect(growthRatio(hostile, (text) => prepareLogsForLLM(text), 1 << 18)).toBeLessThan(8);
  });

  it.each([
    ['unknown option', { maxbytes: 10 }],
    ['maxBytes -1', { maxBytes: -1 }],
    ['maxBytes NaN', { maxBytes: Number.NaN }],
    ['maxBytes Infinity', { maxBytes: Infinity }],
    ['maxBytes string', { maxBytes: '16kb' }],
    ['maxBytes null', { maxBytes: null }],
    ['maxBytes object', { maxBytes: {} }],
    ['maxLineLength too small', { maxLineLength: 1 }],
    ['keys not strings', { keys: [1] }],
    ['patterns bad', { patterns: [{ category: 'x' }] }],
  ])('refuses %s', (_name, options) => {
    expect(() => prepareLogsForLLM('ERROR x', options as unknown as PrepareLogsOptions)).toThrow(
      BulwarkConfigError,
    );
  });

  it('refuses input that is neither text nor lines', () => {
    expect(() => prepareLogsForLLM(42 as unknown as string)).toThrow(BulwarkConfigError);
  });
});
