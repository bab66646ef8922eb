import bcryptjs from 'bcryptjs';
import os from 'node:os';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BulwarkConfigError,
  BulwarkError,
  createPasswordQueue,
  hashPassword,
  passwordNeedsRehash,
  verifyPassword,
  verifyPasswordOrDummy,
} from '../../src/index.js';
import { captureWarnings } from '../helpers/warnings.js';

// Cost 10 is the lowest accepted and keeps the suite fast; one test uses the default 12.
const COST = { cost: 10 } as const;
const PASSWORD = 'FAKE-test-Password-1';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('hashPassword and verifyPassword', () => {
  it('round-trips, salts every hash and refuses a wrong password', async () => {
    const first = await hashPassword(PASSWORD, COST);
    const second = await hashPassword(PASSWORD, COST);
    expect(first).toMatch(/^\$2b\$10\$[./A-Za-z0-9]{53}$/);
    expect(second).not.toBe(first);
    expect(await verifyPassword(PASSWORD, first)).toBe(true);
    expect(await verifyPassword(PASSWORD, second)).toBe(true);
    expect(await verifyPassword('FAKE-test-Password-2', first)).toBe(false);
    expect(await verifyPassword(PASSWORD.toLowerCase(), first)).toBe(false);
  });

  it('hashes at cost 12 by default', async () => {
    const hash = await hashPassword(PASSWORD);
    expect(hash.startsWith('$2b$12$')).toBe(true);
    expect(await verifyPassword(PASSWORD, hash)).toBe(true);
    expect(passwordNeedsRehash(hash)).toBe(false);
  });

  it('accepts every cost from 10 to 15 as an option (checked before any hashing)', () => {
    for (const cost of [10, 11, 12, 13, 14, 15]) {
      expect(passwordNeedsRehash('', { cost })).toBe(true);
    }
  });

  it('keeps results apart when many operations run at once', async () => {
    const passwords = ['FAKE-test-a-1', 'FAKE-test-b-2'];
    const hashes = await Promise.all(passwords.map((p) => hashPassword(p, COST)));
    const checks = await Promise.all(
      hashes.flatMap((hash, i) =>
        passwords.map(async (p, j) => [i === j, await verifyPassword(p, hash)]),
      ),
    );
    for (const [expected, actual] of checks) expect(actual).toBe(expected);
  });

  it('keeps serving after one bcrypt operation fails', async () => {
    const hash = await hashPassword(PASSWORD, COST);
    vi.spyOn(bcryptjs, 'compare').mockRejectedValueOnce(new Error('FAKE bcrypt failure'));
    await expect(verifyPassword(PASSWORD, hash)).rejects.toThrow('FAKE bcrypt failure');
    expect(await verifyPassword(PASSWORD, hash)).toBe(true);
  });
});

describe('the 72-byte limit', () => {
  const ascii72 = 'A'.repeat(71) + 'z';
  it.each([
    ['71 ASCII bytes', 'a'.repeat(71)],
    ['72 ASCII bytes', ascii72],
    ['36 two-byte characters (72 bytes)', 'é'.repeat(36)],
    ['24 three-byte characters (72 bytes)', '€'.repeat(24)],
    ['18 four-byte characters (72 bytes)', '😀'.repeat(18)],
    ['70 ASCII + one two-byte character (72 bytes)', 'a'.repeat(70) + 'é'],
  ])('hashes and verifies %s', async (_case, password) => {
    expect(bytes(password)).toBeLessThanOrEqual(72);
    const hash = await hashPassword(password, COST);
    expect(await verifyPassword(password, hash)).toBe(true);
  });

  it('uses every one of the 72 bytes (nothing truncated below the limit)', async () => {
    const hash = await hashPassword(ascii72, COST);
    expect(await verifyPassword('A'.repeat(71) + 'y', hash)).toBe(false);
    const multi = 'é'.repeat(35) + 'ü';
    const multiHash = await hashPassword(multi, COST);
    expect(await verifyPassword('é'.repeat(36), multiHash)).toBe(false);
  });

  it.each([
    ['73 ASCII bytes', 'a'.repeat(73)],
    ['37 two-byte characters (74 bytes)', 'é'.repeat(37)],
    ['72 two-byte characters (144 bytes)', 'é'.repeat(72)],
    ['71 ASCII + one two-byte character (72 characters, 73 bytes)', 'a'.repeat(71) + 'é'],
    ['25 three-byte characters (75 bytes)', '€'.repeat(25)],
    ['19 four-byte characters (76 bytes)', '😀'.repeat(19)],
  ])('refuses to hash %s with password.too_long', async (_case, password) => {
    expect(bytes(password)).toBeGreaterThan(72);
    const error = await rejection(hashPassword(password, COST));
    expect(error).toBeInstanceOf(BulwarkError);
    expect((error as BulwarkError).code).toBe('password.too_long');
    expect((error as BulwarkError).status).toBe(400);
    expect((error as BulwarkError).message).not.toContain(password);
  });

  it('verifies an over-long password as false, even against a hash of its first 72 bytes', async () => {
    const prefixHash = await hashPassword(ascii72, COST);
    // bcryptjs on its own would compare only the first 72 bytes and say true.
    expect(await bcryptjs.compare(ascii72 + 'tail', prefixHash)).toBe(true);
    expect(await verifyPassword(ascii72 + 'tail', prefixHash)).toBe(false);
    expect(await verifyPasswordOrDummy(ascii72 + 'tail', prefixHash, COST)).toBe(false);
    const multiPrefix = 'é'.repeat(36);
    const multiHash = await hashPassword(multiPrefix, COST);
    expect(await verifyPassword(multiPrefix + 'é', multiHash)).toBe(false);
  });
});

describe('refused input', () => {
  let hash = '';
  beforeAll(async () => {
    hash = await hashPassword(PASSWORD, COST);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 12345678],
    ['an object', { password: 'FAKE' }],
    ['an array', ['FAKE']],
    ['a Buffer', Buffer.from('FAKE-test')],
  ])('refuses %s as a password with a TypeError', async (_case, value) => {
    await expect(hashPassword(value as never, COST)).rejects.toThrow(TypeError);
    await expect(verifyPassword(value as never, hash)).rejects.toThrow(TypeError);
    await expect(verifyPasswordOrDummy(value as never, hash, COST)).rejects.toThrow(TypeError);
    await expect(verifyPasswordOrDummy(value as never, undefined, COST)).rejects.toThrow(TypeError);
  });

  it('refuses to hash an empty password with password.weak', async () => {
    const error = await rejection(hashPassword('', COST));
    expect(error).toBeInstanceOf(BulwarkError);
    expect((error as BulwarkError).code).toBe('password.weak');
    expect((error as BulwarkError).toProblem().problems).toEqual([
      { code: 'too_short', message: 'The password is empty.' },
    ]);
  });

  it('verifies an empty password as false without running bcrypt', async () => {
    const compare = vi.spyOn(bcryptjs, 'compare');
    expect(await verifyPassword('', hash)).toBe(false);
    expect(await verifyPasswordOrDummy('', hash, COST)).toBe(false);
    expect(await verifyPasswordOrDummy('', undefined, COST)).toBe(false);
    expect(compare).not.toHaveBeenCalled();
  });

  it.each([undefined, null, 42, {}])(
    'refuses a non-string hash (%j) in verifyPassword, pointing at verifyPasswordOrDummy',
    async (hash) => {
      await expect(verifyPassword(PASSWORD, hash as never)).rejects.toThrow(
        /verifyPasswordOrDummy/,
      );
    },
  );

  it.each([[42], [{}], [['$2b$']]])(
    'refuses a non-string hash %j in verifyPasswordOrDummy',
    async (hash) => {
      await expect(verifyPasswordOrDummy(PASSWORD, hash as never, COST)).rejects.toThrow(TypeError);
    },
  );
});

describe('cost option', () => {
  it.each([
    [{ cost: 9 }],
    [{ cost: 4 }],
    [{ cost: 16 }],
    [{ cost: 31 }],
    [{ cost: 10.5 }],
    [{ cost: -1 }],
    [{ cost: 0 }],
    [{ cost: Number.NaN }],
    [{ cost: Number.POSITIVE_INFINITY }],
    [{ cost: '12' }],
    [{ cost: null }],
    [{ cost: {} }],
    [{ costs: 12 }],
    ['12'],
    [null],
  ])('refuses %j everywhere with BulwarkConfigError', async (options) => {
    await expect(hashPassword(PASSWORD, options as never)).rejects.toThrow(BulwarkConfigError);
    await expect(verifyPasswordOrDummy(PASSWORD, undefined, options as never)).rejects.toThrow(
      BulwarkConfigError,
    );
    expect(() => passwordNeedsRehash('', options as never)).toThrow(BulwarkConfigError);
  });

  it('names the problem and suggests the right key', async () => {
    const error = await rejection(hashPassword(PASSWORD, { cost: 9 }));
    expect((error as BulwarkConfigError).problems).toEqual(['`cost` must be >= 10, got 9']);
    const typo = await rejection(hashPassword(PASSWORD, { cots: 12 } as never));
    expect((typo as BulwarkConfigError).problems[0]).toContain('Did you mean `cost`?');
  });
});

describe('stored hashes', () => {
  const wellFormed = bcryptjs.hashSync(PASSWORD, 4);
  const body = wellFormed.slice(7);

  it.each([
    ['empty', ''],
    ['not a hash', 'not-a-hash'],
    ['truncated', wellFormed.slice(0, 59)],
    ['one character too many', wellFormed + 'a'],
    ['an unknown variant ($2x$)', '$2x$04$' + body],
    ['a cost of 31', '$2b$31$' + body],
    ['a cost of 16', '$2b$16$' + body],
    ['a cost of 3', '$2b$03$' + body],
    ['a non-digit cost', '$2b$1a$' + body],
    ['a character outside bcrypt base64', '$2b$04$' + body.slice(0, 52) + '!'],
    ['an MD5-crypt hash', '$1$saltsalt$qjXMvbEw8oaL.CzflDugX/'],
    [
      'an argon2 hash',
      '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG',
    ],
    ['plain text', PASSWORD],
  ])('verifies against %s as false without throwing', async (_case, hash) => {
    const warnings = captureWarnings();
    expect(await verifyPassword(PASSWORD, hash)).toBe(false);
    expect(await verifyPasswordOrDummy(PASSWORD, hash, COST)).toBe(false);
    expect(passwordNeedsRehash(hash)).toBe(true);
    warnings.expectOnce('BULWARK_MALFORMED_PASSWORD_HASH');
  });

  it('warns once per process about a malformed stored hash', async () => {
    vi.resetModules();
    const fresh = await import('../../src/auth/passwords.js');
    const warnings = captureWarnings();
    expect(await fresh.verifyPassword(PASSWORD, 'not-a-hash')).toBe(false);
    expect(await fresh.verifyPassword(PASSWORD, 'still-not-a-hash')).toBe(false);
    expect(warnings.codes()).toEqual(['BULWARK_MALFORMED_PASSWORD_HASH']);
    expect(warnings.messages()[0]).not.toContain('not-a-hash');
  });

  it('verifies older hashes ($2a$, $2y$, cost below 10) and asks for a rehash', async () => {
    expect(await verifyPassword(PASSWORD, wellFormed)).toBe(true);
    expect(await verifyPassword(PASSWORD, '$2a$' + wellFormed.slice(4))).toBe(true);
    expect(await verifyPassword(PASSWORD, '$2y$' + wellFormed.slice(4))).toBe(true);
    expect(passwordNeedsRehash(wellFormed)).toBe(true);
  });

  it('asks for a rehash when the cost differs from the target', async () => {
    const hash = await hashPassword(PASSWORD, COST);
    expect(passwordNeedsRehash(hash)).toBe(true);
    expect(passwordNeedsRehash(hash, { cost: 10 })).toBe(false);
    expect(passwordNeedsRehash(hash, { cost: 11 })).toBe(true);
    expect(() => passwordNeedsRehash(undefined as never)).toThrow(TypeError);
  });
});

describe('verifyPasswordOrDummy', () => {
  it('verifies a known user like verifyPassword', async () => {
    const hash = await hashPassword(PASSWORD, COST);
    expect(await verifyPasswordOrDummy(PASSWORD, hash, COST)).toBe(true);
    expect(await verifyPasswordOrDummy('FAKE-test-wrong', hash, COST)).toBe(false);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
  ])('returns false for an unknown user (%s) whatever the password', async (_case, hash) => {
    for (const password of [PASSWORD, 'FAKE-test-other', 'x']) {
      expect(await verifyPasswordOrDummy(password, hash, COST)).toBe(false);
    }
  });

  it('spends one bcrypt compare at the same cost for an unknown user, with the dummy made once', async () => {
    vi.resetModules();
    const freshBcrypt = (await import('bcryptjs')).default;
    const fresh = await import('../../src/auth/passwords.js');
    const hash = vi.spyOn(freshBcrypt, 'hash');
    const compare = vi.spyOn(freshBcrypt, 'compare');
    const warnings = captureWarnings();
    await Promise.all([
      fresh.verifyPasswordOrDummy(PASSWORD, undefined, COST),
      fresh.verifyPasswordOrDummy(PASSWORD, undefined, COST),
    ]);
    expect(await fresh.verifyPasswordOrDummy(PASSWORD, 'malformed', COST)).toBe(false);
    expect(warnings.codes()).toEqual(['BULWARK_MALFORMED_PASSWORD_HASH']);
    expect(hash).toHaveBeenCalledTimes(1);
    expect(compare).toHaveBeenCalledTimes(3);
    for (const [, dummy] of compare.mock.calls) expect(dummy).toMatch(/^\$2b\$10\$/);
  });

  it('makes the dummy at the default cost of 12 when not told otherwise', async () => {
    vi.resetModules();
    const freshBcrypt = (await import('bcryptjs')).default;
    const fresh = await import('../../src/auth/passwords.js');
    const compare = vi.spyOn(freshBcrypt, 'compare');
    expect(await fresh.verifyPasswordOrDummy(PASSWORD, undefined)).toBe(false);
    expect(compare.mock.calls[0]?.[1]).toMatch(/^\$2b\$12\$/);
  });
});

describe('createPasswordQueue', () => {
  it('runs one task at a time, in order, and refuses past maxPending with auth.overloaded', async () => {
    const queue = createPasswordQueue({ maxPending: 2 });
    const order: string[] = [];
    const releases: (() => void)[] = [];
    const task = (name: string) => () =>
      new Promise<string>((resolve) => {
        order.push(`start ${name}`);
        releases.push(() => {
          order.push(`end ${name}`);
          resolve(name);
        });
      });
    const first = queue.run(task('a'));
    const second = queue.run(task('b'));
    expect(queue.pending).toBe(2);
    await expect(queue.run(task('c'))).rejects.toMatchObject({
      code: 'auth.overloaded',
      status: 503,
      headers: { 'Retry-After': '1' },
    });
    await vi.waitFor(() => {
      expect(releases).toHaveLength(1);
    });
    releases[0]!();
    expect(await first).toBe('a');
    await vi.waitFor(() => {
      expect(releases).toHaveLength(2);
    });
    releases[1]!();
    expect(await second).toBe('b');
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b']);
    await vi.waitFor(() => {
      expect(queue.pending).toBe(0);
    });
    expect(await queue.run(() => Promise.resolve('d'))).toBe('d');
  });

  it('frees its place when a task fails', async () => {
    const queue = createPasswordQueue({ maxPending: 1 });
    await expect(queue.run(() => Promise.reject(new Error('bcrypt failed')))).rejects.toThrow(
      'bcrypt failed',
    );
    await vi.waitFor(() => {
      expect(queue.pending).toBe(0);
    });
    expect(await queue.run(() => Promise.resolve(1))).toBe(1);
  });

  it('lets hashPassword and verifyPassword refuse through a full queue', async () => {
    const queue = createPasswordQueue({ maxPending: 1 });
    let release: () => void = () => undefined;
    const busy = queue.run(() => new Promise<void>((resolve) => (release = resolve)));
    await expect(hashPassword(PASSWORD, { cost: 10, queue })).rejects.toMatchObject({
      code: 'auth.overloaded',
    });
    await expect(
      verifyPassword(PASSWORD, '$2b$10$' + 'a'.repeat(53), { queue }),
    ).rejects.toMatchObject({
      code: 'auth.overloaded',
    });
    release();
    await busy;
  });

  it('defaults maxPending to a few hashes per core', () => {
    expect(createPasswordQueue().maxPending).toBe(Math.max(4, 2 * os.availableParallelism()));
  });

  it.each([
    [{ maxPending: 0 }],
    [{ maxPending: 1.5 }],
    [{ maxPending: '4' }],
    [{ retryAfterSeconds: 0 }],
    [{ size: 4 }],
  ])('refuses %j', (options) => {
    expect(() => createPasswordQueue(options as never)).toThrow(BulwarkConfigError);
  });

  it('refuses a queue that is not one', async () => {
    await expect(hashPassword(PASSWORD, { queue: {} as never })).rejects.toThrow(
      BulwarkConfigError,
    );
  });
});
