import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  createRedactor,
  redact,
  redactWithReport,
  type RedactOptions,
} from '../../src/index.js';
import { FAKE } from './fakes.js';

describe('redact: key rules', () => {
  it.each([
    'password',
    'passwd',
    'pwd',
    'secret',
    'client_secret',
    'token',
    'access_token',
    'refresh_token',
    'id_token',
    'authorization',
    'Authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'Set-Cookie',
    'session',
    'api_key',
    'apikey',
    'apiKey',
    'x-api-key',
    'X-API-KEY',
    'private_key',
    'privateKey',
    'credentials',
    'db_password',
    'dbPassword',
    'DB-PASSWORD',
    'aws_secret_access_key',
    'OPENAI_API_KEY',
    'githubToken',
    'csrf-token',
    'jwt',
    'auth',
    'encryption.key',
  ])('redacts the value under %j', (key) => {
    expect(redact({ [key]: 'FAKE-value', other: 'kept' })).toEqual({
      [key]: '[REDACTED]',
      other: 'kept',
    });
  });

  it.each([
    'max_tokens',
    'total_tokens',
    'token_type',
    'tokenizer',
    'password_min_length',
    'passwordPolicy',
    'secretary',
    'author',
    'oauth_provider',
    'cache_key',
    'keyId',
    'sessionCount',
  ])('keeps the value under %j', (key) => {
    const input = { [key]: 'plain value' };
    expect(redact(input)).toEqual(input);
  });

  it('replaces whole objects, arrays and numbers under a secret key; keeps null, undefined and booleans', () => {
    expect(
      redact({
        credentials: { user: 'u', pass: 'FAKE' },
        'set-cookie': ['a=FAKE', 'b=FAKE'],
        pin: 1234,
        password: null,
        token: undefined,
        secret: false,
      }),
    ).toEqual({
      credentials: '[REDACTED]',
      'set-cookie': '[REDACTED]',
      pin: '[REDACTED]',
      password: null,
      token: undefined,
      secret: false,
    });
  });

  it('adds custom keys, matched whole after normalising', () => {
    const redactor = createRedactor({ keys: ['ssn', 'date-of-birth'] });
    expect(redactor({ SSN: '123', dateOfBirth: '1990', birthplace: 'x', my_ssn: 'y' })).toEqual({
      SSN: '[REDACTED]',
      dateOfBirth: '[REDACTED]',
      birthplace: 'x',
      my_ssn: 'y',
    });
  });

  it('applies key rules inside Maps', () => {
    const out = redact(
      new Map<unknown, unknown>([
        ['Authorization', 'Basic x'],
        [1, 'one'],
      ]),
    );
    expect(out).toEqual(
      new Map<unknown, unknown>([
        ['Authorization', '[REDACTED]'],
        [1, 'one'],
      ]),
    );
  });

  it('redacts patterns inside object keys', () => {
    expect(redact({ 'ann@example.com': 1 })).toEqual({ '[REDACTED:email]': 1 });
  });
});

describe('redact: structures', () => {
  it('never mutates the input and shares only unchanged branches', () => {
    const untouched = { region: 'eu', sizes: [1, 2, 3] };
    const input = {
      user: { email: 'ann@example.com', name: 'Ann' },
      headers: { authorization: `Bearer ${FAKE.bearer}`, accept: 'json' },
      untouched,
    };
    const before = structuredClone(input);
    const out = redact(input) as typeof input;
    expect(input).toEqual(before);
    expect(out).toEqual({
      user: { email: '[REDACTED:email]', name: 'Ann' },
      headers: { authorization: '[REDACTED]', accept: 'json' },
      untouched,
    });
    expect(out.untouched).toBe(untouched);
    expect(out.user).not.toBe(input.user);
  });

  // Copies are made at a spread per depth: every depth, and many shapes at one
  // depth, must copy alike.
  it.each([0, 1, 2, 3, 4, 7])(
    'copies a changed object %i levels down and nothing else',
    (depth) => {
      for (let shape = 0; shape < 8; shape++) {
        const kept = { note: 'plain' };
        let input: Record<string, unknown> = {
          [`extra${String(shape)}`]: shape,
          password: 'x',
          kept,
        };
        for (let level = 0; level < depth; level++)
          input = { [`level${String(level)}`]: input, kept };
        const before = structuredClone(input);
        let out = redact(input) as Record<string, unknown>;
        expect(input).toEqual(before);
        let original = input;
        for (let level = depth - 1; level >= 0; level--) {
          expect(out).not.toBe(original);
          expect(out.kept).toBe(kept);
          out = out[`level${String(level)}`] as Record<string, unknown>;
          original = original[`level${String(level)}`] as Record<string, unknown>;
        }
        expect(out).not.toBe(original);
        expect(out).toEqual({ [`extra${String(shape)}`]: shape, password: '[REDACTED]', kept });
        expect(out.kept).toBe(kept);
      }
    },
  );

  it('redacts an array whose prototype was replaced as an array, as JSON.stringify writes it', () => {
    for (const proto of [null, Object.prototype, { custom: true }]) {
      const input = Object.setPrototypeOf(['ann@example.com', 1], proto) as unknown[];
      const out = redact(input);
      expect(Array.isArray(out)).toBe(true);
      expect(JSON.stringify(out)).toBe('["[REDACTED:email]",1]');
      expect(input[0]).toBe('ann@example.com');
    }
  });

  it('returns the very same object when nothing needs redacting', () => {
    const input = { a: 1, b: ['x', { c: 'plain' }] };
    expect(redact(input)).toBe(input);
  });

  it('marks cycles but not shared references', () => {
    const shared = { email: 'ann@example.com' };
    const input: Record<string, unknown> = { a: shared, b: shared };
    input.self = input;
    const list: unknown[] = [];
    list.push(list);
    input.list = list;
    expect(redact(input)).toEqual({
      a: { email: '[REDACTED:email]' },
      b: { email: '[REDACTED:email]' },
      self: '[Circular]',
      list: ['[Circular]'],
    });
  });

  it('turns Errors into plain objects with redacted name, message, stack, cause and own fields', () => {
    const cause = new Error('db at postgres://app:FAKEpass@db.example.com failed');
    const error = Object.assign(new TypeError(`bad key ${FAKE.openai}`, { cause }), {
      code: 'E_TEST',
      config: { headers: { Authorization: `Bearer ${FAKE.bearer}` } },
    });
    const out = redact(error) as Record<string, unknown>;
    expect(out).toMatchObject({
      name: 'TypeError',
      message: 'bad key [REDACTED:api_key]',
      code: 'E_TEST',
      config: { headers: { Authorization: '[REDACTED]' } },
      cause: {
        name: 'Error',
        message: 'db at postgres://[REDACTED:url_credentials]@db.example.com failed',
      },
    });
    expect(out.stack).toContain('TypeError: bad key [REDACTED:api_key]');
    expect(JSON.stringify(out)).not.toMatch(/FAKEpass|FAKEtest/);
    expect(error.message).toContain(FAKE.openai);
  });

  it('replaces Buffers and binary views with a size marker', () => {
    expect(
      redact({
        body: Buffer.from('password=FAKE'),
        view: new Uint8Array(4),
        raw: new ArrayBuffer(8),
      }),
    ).toEqual({
      body: '[Buffer 13 bytes]',
      view: '[Uint8Array 4 bytes]',
      raw: '[ArrayBuffer 8 bytes]',
    });
  });

  it('redacts inside Maps and Sets and keeps their kind', () => {
    const out = redact({
      map: new Map([['contact', 'ann@example.com']]),
      set: new Set(['10.0.0.1', 'plain']),
    });
    expect(out).toEqual({
      map: new Map([['contact', '[REDACTED:email]']]),
      set: new Set(['[REDACTED:ip]', 'plain']),
    });
  });

  it('keeps Dates, numbers, bigints and other primitives', () => {
    const when = new Date(0);
    const out = redact({ when, n: 1716912345678, big: 10n, ok: true, nothing: null }) as Record<
      string,
      unknown
    >;
    expect(out).toEqual({ when, n: 1716912345678, big: 10n, ok: true, nothing: null });
    expect(out.when).toBeInstanceOf(Date);
  });

  it('walks class instances like JSON.stringify would and honours toJSON', () => {
    class Account {
      password = 'FAKE';
      email = 'ann@example.com';
      get derived(): string {
        return 'not enumerable';
      }
    }
    class Wrapped {
      toJSON(): unknown {
        return { token: 'FAKE', kept: 'yes' };
      }
    }
    expect(redact({ account: new Account(), wrapped: new Wrapped() })).toEqual({
      account: { password: '[REDACTED]', email: '[REDACTED:email]' },
      wrapped: { token: '[REDACTED]', kept: 'yes' },
    });
  });

  it('survives throwing getters, toJSON and proxies', () => {
    class Hostile {
      toJSON(): never {
        throw new Error('toJSON');
      }
    }
    const proxy = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('proxy');
        },
      },
    );
    const input = {
      get boom(): string {
        throw new Error('getter');
      },
      nested: new Hostile(),
      proxy,
      fine: 'ann@example.com',
    };
    expect(redact(input)).toEqual({
      boom: '[Unreadable]',
      nested: '[Unreadable]',
      proxy: '[Unreadable]',
      fine: '[REDACTED:email]',
    });
  });

  it('honours toJSON on class instances but treats plain objects as data', () => {
    expect(redact({ toJSON: 'not a function', password: 'FAKE' })).toEqual({
      toJSON: 'not a function',
      password: '[REDACTED]',
    });
  });

  it('copies only own members while Object.prototype is polluted', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.injected = 'ann@example.com';
    try {
      const out = redact({ password: 'FAKE', kept: 'x' }) as Record<string, unknown>;
      expect(Object.keys(out)).toEqual(['password', 'kept']);
      expect(out.password).toBe('[REDACTED]');
    } finally {
      delete proto.injected;
    }
  });

  it('keeps a __proto__ member as data, never as the prototype', () => {
    const input = JSON.parse(
      '{"__proto__": {"password": "FAKE"}, "a": "ann@example.com"}',
    ) as object;
    const out = redact(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({
      password: '[REDACTED]',
    });
  });

  it('bounds depth on 10,000-deep input without overflowing the stack', () => {
    const root: Record<string, unknown> = {};
    let node = root;
    for (let i = 0; i < 10_000; i++) {
      const next: Record<string, unknown> = { email: 'ann@example.com' };
      node.child = next;
      node = next;
    }
    const out = redact(root);
    const serialised = JSON.stringify(out);
    expect(serialised).toContain('[MaxDepth]');
    expect(serialised).not.toContain('ann@example.com');
    expect(JSON.stringify(createRedactor({ maxDepth: 2 })({ a: { b: { c: 1 } } }))).toBe(
      '{"a":{"b":"[MaxDepth]"}}',
    );
  });

  it('handles a huge array, copying only from the first change', () => {
    const big = Array.from({ length: 200_000 }, (_, i) => `row ${String(i)}`);
    expect(redact(big)).toBe(big);
    big[150_000] = 'ann@example.com';
    const out = redact(big) as string[];
    expect(out).toHaveLength(200_000);
    expect(out[150_000]).toBe('[REDACTED:email]');
    expect(out[199_999]).toBe('row 199999');
    expect(big[150_000]).toBe('ann@example.com');
  });
});

describe('redact: options', () => {
  it('selects categories by switches or by list', () => {
    const input = { ip: '10.0.0.1', who: 'ann@example.com', password: 'FAKE' };
    expect(redact(input, { categories: { ip: false } })).toEqual({
      ip: '10.0.0.1',
      who: '[REDACTED:email]',
      password: '[REDACTED]',
    });
    expect(redact(input, { categories: ['ip'] })).toEqual({
      ip: '[REDACTED:ip]',
      who: 'ann@example.com',
      password: 'FAKE',
    });
    expect(redact(input, { categories: [] })).toBe(input);
    expect(redact(input, { categories: 'all' })).toEqual({
      ip: '[REDACTED:ip]',
      who: '[REDACTED:email]',
      password: '[REDACTED]',
    });
  });

  it('applies custom patterns before the built-in ones and counts them', () => {
    const options: RedactOptions = {
      patterns: [{ category: 'employee_id', pattern: /\bEMP-\d{6}\b/ }],
    };
    expect(
      redactWithReport({ note: 'EMP-123456 and EMP-654321 at ann@example.com' }, options),
    ).toEqual({
      value: { note: '[REDACTED:employee_id] and [REDACTED:employee_id] at [REDACTED:email]' },
      counts: { employee_id: 2, email: 1 },
    });
  });

  it('reports counts per category, never values', () => {
    const report = redactWithReport({
      password: 'FAKE',
      token: 'FAKE',
      text: 'ann@example.com and bob@example.com',
    });
    expect(report.counts).toEqual({ key: 2, email: 2 });
    expect(JSON.stringify(report.counts)).not.toContain('example');
  });

  it('compiles once per options object', () => {
    const options: RedactOptions = { keys: ['ssn'] };
    expect(redact({ ssn: '1' }, options)).toEqual({ ssn: '[REDACTED]' });
    expect(redact({ ssn: '2' }, options)).toEqual({ ssn: '[REDACTED]' });
  });

  it.each([
    ['unknown option', { category: 'all' }],
    ['categories: a string', { categories: 'none' }],
    ['categories: unknown name in a list', { categories: ['ip', 'shoe_size'] }],
    ['categories: unknown switch', { categories: { shoe_size: false } }],
    ['categories: non-boolean switch', { categories: { ip: 'no' } }],
    ['categories: null', { categories: null }],
    ['keys: not an array', { keys: 'ssn' }],
    ['keys: empty name', { keys: ['--'] }],
    ['patterns: not an array', { patterns: /x/ }],
    ['patterns: bad category', { patterns: [{ category: 'Bad Name', pattern: /x/ }] }],
    ['patterns: not a RegExp', { patterns: [{ category: 'x', pattern: 'x' }] }],
    ['patterns: matches empty', { patterns: [{ category: 'x', pattern: /x*/ }] }],
    ['maxDepth: -1', { maxDepth: -1 }],
    ['maxDepth: NaN', { maxDepth: Number.NaN }],
    ['maxDepth: Infinity', { maxDepth: Infinity }],
    ['maxDepth: string', { maxDepth: '5' }],
    ['maxDepth: null', { maxDepth: null }],
    ['maxDepth: object', { maxDepth: {} }],
    ['maxDepth: too deep', { maxDepth: 5000 }],
  ])('refuses %s', (_name, options) => {
    expect(() => createRedactor(options as unknown as RedactOptions)).toThrow(BulwarkConfigError);
  });
});
