import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { commonPasswords } from '../../src/auth/common-passwords.js';
import {
  BulwarkConfigError,
  BulwarkError,
  checkPasswordPolicy,
  createPasswordPolicy,
  errorHandler,
  hashPassword,
  type PasswordPolicy,
  type PasswordProblemCode,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, jsonApp } from '../helpers/express.js';
import { growthRatio } from '../helpers/linear.js';

const codes = (password: unknown, policy?: PasswordPolicy) =>
  checkPasswordPolicy(password, policy).problems.map((p) => p.code);

// 12 code points with one of each class and no common word: the baseline each case breaks once.
const STRONG = 'Zebra!Quilt7';

describe('checkPasswordPolicy defaults', () => {
  it.each([
    STRONG,
    'Correct-Horse-9-Battery',
    'Ünïcødé-Pässwörd-7',
    'Σίσυφος-Λίθος-7',
    'ДлинныйПароль#5',
    STRONG + 'x'.repeat(60),
  ])('accepts %s', (password) => {
    expect(checkPasswordPolicy(password)).toEqual({ ok: true, problems: [] });
  });

  it.each<[string, string, PasswordProblemCode]>([
    ['11 characters', 'Zebra!Quil7', 'too_short'],
    ['73 bytes', STRONG + 'x'.repeat(61), 'too_long'],
    ['72 characters of 2-byte letters', 'Zé!7' + 'é'.repeat(68), 'too_long'],
    ['no upper-case letter', 'zebra!quilt7', 'no_uppercase'],
    ['no lower-case letter', 'ZEBRA!QUILT7', 'no_lowercase'],
    ['no digit', 'Zebra!Quilts', 'no_digit'],
    ['no symbol', 'ZebraQuilt77', 'no_symbol'],
    ['a common password with digits and a symbol after it', 'Password123!', 'common'],
  ])('fails with %s on that rule alone', (_case, password, code) => {
    const result = checkPasswordPolicy(password);
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.code)).toEqual([code]);
  });

  it('reports every failed rule, in a stable order', () => {
    expect(codes('')).toEqual([
      'too_short',
      'no_uppercase',
      'no_lowercase',
      'no_digit',
      'no_symbol',
    ]);
    expect(codes('abc')).toEqual(['too_short', 'no_uppercase', 'no_digit', 'no_symbol']);
    expect(codes('password', { username: 'Password' })).toEqual([
      'too_short',
      'no_uppercase',
      'no_digit',
      'no_symbol',
      'contains_username',
      'common',
    ]);
    expect(codes('a'.repeat(80))).toEqual(['too_long', 'no_uppercase', 'no_digit', 'no_symbol']);
  });

  it('counts code points, not UTF-16 units', () => {
    // Each emoji is 2 UTF-16 units: these are 12 and 11 code points.
    expect(codes('😀😀Zebra!Qui7')).toEqual([]);
    expect(codes('😀😀Zebra!Qu7')).toEqual(['too_short']);
    expect('😀😀Zebra!Qu7'.length).toBe(13);
  });

  it.each([
    ['an Arabic-Indic digit', 'Zebra!Quilt٣', []],
    ['a space as the symbol', 'Zebra Quilt7', []],
    ['a currency sign as the symbol', 'Zebra€Quilt7', []],
    ['a title-case letter (ǅ) as the upper case', 'ǅebra!quilt7', []],
    ['letters of a script without case', '密码密码密码!Aa7xyz', []],
    [
      'only letters of a script without case',
      '密码密码密码!密码密码7',
      ['no_uppercase', 'no_lowercase'],
    ],
  ])('understands Unicode classes: %s', (_case, password, expected) => {
    expect(codes(password)).toEqual(expected);
  });

  it.each([[undefined], [null], [12345678901234], [{ password: 'FAKE' }], [['Zebra!Quilt7']]])(
    'refuses %j as not a string',
    (value) => {
      expect(checkPasswordPolicy(value)).toEqual({
        ok: false,
        problems: [{ code: 'invalid_type', message: 'The password must be a string.' }],
      });
    },
  );

  it.each([
    ['a run of digits between two letters', (n: number) => 'a' + '1!'.repeat(n / 2) + 'b'],
    ['letters, then digits', (n: number) => 'a'.repeat(n / 2) + '1'.repeat(n / 2)],
    ['a long username match attempt', (n: number) => 'alic'.repeat(n / 4) + 'e'],
  ])('checks a hostile 500,000-character input in linear time: %s', (_case, make) => {
    const check = (password: string) => checkPasswordPolicy(password, { username: 'alice' });
    expect(check(make(500_000)).problems.map((p) => p.code)).toContain('too_long');
    // Four times the input, about four times the work; a quadratic pass would take sixteen.
    expect(growthRatio(make, check, 125_000)).toBeLessThan(8);
  });

  it('never echoes the password or the username in a message', () => {
    const password = 'secretword';
    const username = 'FAKE-user-name';
    const { problems } = checkPasswordPolicy(password + username, { username });
    expect(problems.length).toBeGreaterThan(0);
    for (const { message } of problems) {
      expect(message).not.toContain(password);
      expect(message.toLowerCase()).not.toContain(username.toLowerCase());
    }
  });
});

describe('common passwords', () => {
  it.each([
    'Password123!',
    'pASSWORD123!',
    'PaSsWoRd!2024',
    '!!Sunshine2024',
    '2024-Football!',
    'Iloveyou1234!',
    'Princess#2023',
    'ＰＡＳＳword1234!', // full-width letters fold to ASCII (NFKC)
    'Qwerty123456!',
    'P@ssw0rd2024!',
  ])('refuses %s', (password) => {
    expect(codes(password)).toEqual(['common']);
  });

  it.each([['baseball'], ['BASEBALL'], ['BaseBall'], ['iloveyou'], ['1qaz2wsx'], ['12345678']])(
    'refuses the whole entry %s in any case when other rules are off',
    (password) => {
      const relaxed = {
        minLength: 8,
        requireUppercase: false,
        requireLowercase: false,
        requireDigit: false,
        requireSymbol: false,
      };
      expect(codes(password, relaxed)).toEqual(['common']);
    },
  );

  it.each([
    ['a letter after the digits', 'Password123!x'],
    ['a common word inside other letters', 'Mypasswordis7!'],
    ['a stem under 4 letters', 'Abc!123456789'],
  ])('accepts a near miss: %s', (_case, password) => {
    expect(codes(password)).toEqual([]);
  });

  it('refuses extra words like common ones, and can be switched off', () => {
    const policy = { extraCommonPasswords: ['Bulwark', 'ACME corp'] };
    expect(codes('Bulwark2024!!', policy)).toEqual(['common']);
    expect(codes('Acme Corp 2024!', policy)).toEqual(['common']);
    expect(codes('Bulwark2024!!')).toEqual([]);
    expect(codes('Password123!', { rejectCommon: false })).toEqual([]);
  });

  it('ships at least 1,000 distinct lower-case entries, most common first', () => {
    const COMMON_PASSWORDS = commonPasswords();
    expect(commonPasswords()).toBe(COMMON_PASSWORDS);
    expect(COMMON_PASSWORDS.length).toBe(10_000);
    expect(new Set(COMMON_PASSWORDS).size).toBe(COMMON_PASSWORDS.length);
    expect(COMMON_PASSWORDS.slice(0, 3)).toEqual(['password', '12345678', 'qwerty']);
    for (const entry of COMMON_PASSWORDS) {
      expect(entry).toBe(entry.toLowerCase());
      // Shorter entries could match neither a whole password nor a stripped stem.
      expect(entry.length >= 8 || /^[a-z](.*[a-z])?$/.test(entry)).toBe(true);
      expect(entry.length).toBeGreaterThanOrEqual(4);
    }
  });
});

describe('username rule', () => {
  it.each([
    ['equal', 'Alice-2024-Q!', 'Alice-2024-Q!'],
    ['contained', 'Zebra!alice7Q', 'alice'],
    ['contained, other case', 'Zebra!ALICE7q', 'aLiCe'],
    ['contained, full-width', 'Zebra!ａｌｉｃｅ7Q', 'alice'],
    ['the local part of an e-mail username', 'Bob.Smith!Zq92', 'bob.smith@example.com'],
    ['the whole e-mail username', 'x-Bob@Example.com-9', 'bob@example.com'],
    ['a 3-character username', 'Zebra!Bob7Quilt', 'bob'],
    ['a username with spaces around it', 'Zebra!alice7Q', '  alice  '],
  ])('refuses a password with the username %s', (_case, password, username) => {
    expect(codes(password, { username })).toEqual(['contains_username']);
  });

  it.each([
    ['a 2-character username', 'Zebra!al7Quilt', 'al'],
    ['an empty username', STRONG, ''],
    ['an unrelated username', STRONG, 'carol'],
  ])('accepts %s', (_case, password, username) => {
    expect(codes(password, { username })).toEqual([]);
  });

  it('can be switched off', () => {
    expect(codes('Zebra!alice7Q', { username: 'alice', rejectUsername: false })).toEqual([]);
  });
});

describe('adjusting rules', () => {
  it.each<[string, PasswordPolicy, string]>([
    ['minLength', { minLength: 8 }, 'Zeb!ra7Q'],
    ['requireUppercase', { requireUppercase: false }, 'zebra!quilt7'],
    ['requireLowercase', { requireLowercase: false }, 'ZEBRA!QUILT7'],
    ['requireDigit', { requireDigit: false }, 'Zebra!Quilts'],
    ['requireSymbol', { requireSymbol: false }, 'ZebraQuilt77'],
  ])('relaxes %s', (_case, policy, password) => {
    expect(codes(password)).not.toEqual([]);
    expect(codes(password, policy)).toEqual([]);
  });

  it('raises minLength and reports it in the message', () => {
    const { problems } = checkPasswordPolicy(STRONG, { minLength: 16 });
    expect(problems).toEqual([
      { code: 'too_short', message: 'The password must be at least 16 characters long.' },
    ]);
  });

  it('keeps the 72-byte limit whatever the rules', () => {
    const relaxed = {
      minLength: 8,
      requireUppercase: false,
      requireLowercase: false,
      requireDigit: false,
      requireSymbol: false,
      rejectCommon: false,
      rejectUsername: false,
    };
    expect(codes('é'.repeat(37), relaxed)).toEqual(['too_long']);
    expect(codes('é'.repeat(36), relaxed)).toEqual([]);
  });

  it('prepares a policy once with createPasswordPolicy', () => {
    const policy = createPasswordPolicy({ minLength: 14, extraCommonPasswords: ['bulwark'] });
    expect(policy(STRONG).problems.map((p) => p.code)).toEqual(['too_short']);
    expect(policy('Zebra!Quilt7-long').ok).toBe(true);
    expect(policy('Zebra!alice7Q-long', { username: 'alice' }).ok).toBe(false);
    expect(policy('Bulwark2024!!!!').problems.map((p) => p.code)).toEqual(['common']);
  });
});

describe('policy options', () => {
  it.each([
    [{ minLength: 7 }],
    [{ minLength: 0 }],
    [{ minLength: -1 }],
    [{ minLength: 73 }],
    [{ minLength: 12.5 }],
    [{ minLength: '12' }],
    [{ minLength: Number.NaN }],
    [{ minLength: Number.POSITIVE_INFINITY }],
    [{ minLength: null }],
    [{ minLength: {} }],
    [{ requireDigit: 'yes' }],
    [{ requireSymbol: 1 }],
    [{ rejectCommon: null }],
    [{ rejectUsername: 'false' }],
    [{ extraCommonPasswords: 'bulwark' }],
    [{ extraCommonPasswords: [1] }],
    [{ extraCommonPasswords: [''] }],
    [{ maxLength: 100 }],
    [{ minLenght: 12 }],
    ['strict'],
  ])('refuses %j with BulwarkConfigError', (rules) => {
    expect(() => createPasswordPolicy(rules as never)).toThrow(BulwarkConfigError);
    expect(() => checkPasswordPolicy(STRONG, rules as never)).toThrow(BulwarkConfigError);
  });

  it.each([[{ username: 42 }], [{ username: null }], [{ user: 'alice' }]])(
    'refuses the context %j',
    (context) => {
      expect(() => checkPasswordPolicy(STRONG, context as never)).toThrow(BulwarkConfigError);
      expect(() => createPasswordPolicy()(STRONG, context as never)).toThrow(BulwarkConfigError);
    },
  );

  it('lists every problem at once, with a typo hint', () => {
    try {
      createPasswordPolicy({ minLength: 3, requireDigit: 'no', minLenght: 12 } as never);
      expect.unreachable();
    } catch (error) {
      const { problems } = error as BulwarkConfigError;
      expect(problems).toHaveLength(3);
      expect(problems.join('\n')).toContain('Did you mean `minLength`?');
    }
  });

  it('refuses username as a rule of createPasswordPolicy (it belongs to each check)', () => {
    expect(() => createPasswordPolicy({ username: 'alice' } as never)).toThrow(BulwarkConfigError);
  });
});

describe.each(EXPRESS_VERSIONS)('a registration route on %s', (_name, factory) => {
  function app() {
    const saved: string[] = [];
    const a = jsonApp(factory);
    a.post('/register', async (req, res, next) => {
      try {
        const { username, password } = req.body as { username: string; password: unknown };
        const result = checkPasswordPolicy(password, { username });
        if (!result.ok) {
          throw new BulwarkError('password.weak', { extensions: { problems: result.problems } });
        }
        saved.push(await hashPassword(password as string, { cost: 10 }));
        res.status(201).json({ username });
      } catch (error) {
        next(error);
      }
    });
    // A route that skips the policy still cannot store a truncated hash.
    a.post('/set-password', async (req, res, next) => {
      try {
        saved.push(await hashPassword((req.body as { password: string }).password, { cost: 10 }));
        res.sendStatus(204);
      } catch (error) {
        next(error);
      }
    });
    a.use(errorHandler({ env: 'production' }));
    return { app: a, saved };
  }

  it('answers 400 password.weak with the problems and stores nothing', async () => {
    const { app: a, saved } = app();
    const res = await request(a)
      .post('/register')
      .send({ username: 'alice', password: 'alice-password' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('password.weak');
    expect(res.body.problems.map((p: { code: string }) => p.code)).toEqual([
      'no_uppercase',
      'no_digit',
      'contains_username',
    ]);
    expect(res.text).not.toContain('alice-password');
    expect(saved).toEqual([]);
  });

  it('answers 400 password.weak for a non-string password', async () => {
    const { app: a, saved } = app();
    const res = await request(a).post('/register').send({ username: 'bob', password: 1234 });
    expect(res.status).toBe(400);
    expect(res.body.problems).toEqual([
      { code: 'invalid_type', message: 'The password must be a string.' },
    ]);
    expect(saved).toEqual([]);
  });

  it('reports a password over 72 bytes as a policy problem', async () => {
    const { app: a, saved } = app();
    const res = await request(a)
      .post('/register')
      .send({ username: 'carol', password: 'Zé!7' + 'é'.repeat(40) });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('password.weak');
    expect(res.body.problems.map((p: { code: string }) => p.code)).toEqual(['too_long']);
    expect(saved).toEqual([]);
  });

  it('answers 400 password.too_long when hashing is reached with a password over 72 bytes', async () => {
    const { app: a, saved } = app();
    const password = 'Zé!7' + 'é'.repeat(40);
    const res = await request(a).post('/set-password').send({ password });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('password.too_long');
    expect(res.text).not.toContain(password);
    expect(saved).toEqual([]);
  });

  it('stores a bcrypt hash of a strong password', async () => {
    const { app: a, saved } = app();
    const res = await request(a).post('/register').send({ username: 'dave', password: STRONG });
    expect(res.status).toBe(201);
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatch(/^\$2b\$10\$/);
  });
});
