import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  BulwarkError,
  createSecretBox,
  type SecretBox,
} from '../../src/index.js';
import { fakeKey } from './keys.js';

const OLD = fakeKey('old');
const NEW = fakeKey('new');
const SECRET = 'sk-FAKE-test-provider-key-0123456789';
const SEALED = /^v1\.[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/;

function openError(run: () => unknown): BulwarkError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BulwarkError);
    expect((error as BulwarkError).code).toBe('crypto.open_failed');
    return error as BulwarkError;
  }
  throw new Error('expected crypto.open_failed, but the value opened');
}

function configError(run: () => unknown): BulwarkConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BulwarkConfigError);
    return error as BulwarkConfigError;
  }
  throw new Error('expected BulwarkConfigError');
}

/** Flips one bit of the decoded bytes of part `index` and re-encodes it canonically. */
function flipBit(sealed: string, index: number, bit: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index]!, 'base64url');
  bytes[bit >> 3]! ^= 1 << (bit & 7);
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

function replacePart(sealed: string, index: number, value: string): string {
  const parts = sealed.split('.');
  parts[index] = value;
  return parts.join('.');
}

describe('createSecretBox: seal and open', () => {
  const box = createSecretBox({ key: NEW });

  it.each([
    ['a provider key', SECRET],
    ['an empty string', ''],
    ['unicode', 'clé secrète 🔑 — ключ'],
    ['a long value', 'x'.repeat(100_000)],
  ])('round-trips %s', (_case, plaintext) => {
    const sealed = box.seal(plaintext);
    expect(sealed).toMatch(SEALED);
    expect(sealed).not.toContain(plaintext === '' ? '\0' : plaintext);
    expect(box.open(sealed)).toBe(plaintext);
  });

  it('round-trips bytes through openBytes', () => {
    const bytes = Buffer.from([0, 255, 1, 254, 0x80]);
    expect(box.openBytes(box.seal(bytes))).toEqual(bytes);
  });

  it('refuses to return non-UTF-8 plaintext as a string', () => {
    openError(() => box.open(box.seal(Buffer.from([0xff, 0xfe]))));
  });

  it('uses a fresh IV for every seal', () => {
    const ivs = new Set<string>();
    for (let i = 0; i < 1000; i++) ivs.add(box.seal(SECRET).split('.')[2]!);
    expect(ivs.size).toBe(1000);
  });

  it('names the key by a hash prefix that reveals nothing of it', () => {
    const kid = box.seal(SECRET).split('.')[1]!;
    expect(kid).toBe(box.currentKeyId);
    expect(createSecretBox({ key: NEW }).currentKeyId).toBe(kid);
    expect(NEW).not.toContain(Buffer.from(kid, 'base64url').toString('hex'));
    expect(createSecretBox({ key: OLD }).currentKeyId).not.toBe(kid);
  });

  it('uses explicit key ids and the named current key', () => {
    const ring = createSecretBox({
      keys: [
        { id: 'k2024', key: OLD },
        { id: 'k2025', key: NEW },
      ],
      current: 'k2025',
    });
    expect(ring.currentKeyId).toBe('k2025');
    expect(ring.keyIds).toEqual(['k2025', 'k2024']);
    expect(ring.seal(SECRET).startsWith('v1.k2025.')).toBe(true);
  });

  it.each([
    [
      'kid',
      [
        { kid: 'k2024', key: OLD },
        { kid: 'k2025', key: NEW },
      ],
    ],
    [
      'id and kid alike',
      [
        { id: 'k2024', kid: 'k2024', key: OLD },
        { kid: 'k2025', key: NEW },
      ],
    ],
    [
      'id and kid mixed',
      [
        { id: 'k2024', key: OLD },
        { kid: 'k2025', key: NEW },
      ],
    ],
  ])('takes the key id from %s (the JOSE spelling)', (_case, keys) => {
    const ring = createSecretBox({ keys, current: 'k2025' });
    expect(ring.keyIds).toEqual(['k2025', 'k2024']);
    const sealed = ring.seal(SECRET);
    expect(sealed.startsWith('v1.k2025.')).toBe(true);
    const byId = createSecretBox({ keys: [{ id: 'k2025', key: NEW }] });
    expect(byId.open(sealed)).toBe(SECRET);
  });

  it('accepts 32 raw bytes as a key', () => {
    const bytes = Buffer.from(NEW, 'hex');
    const fromBytes = createSecretBox({ keys: [bytes] });
    expect(fromBytes.open(box.seal(SECRET))).toBe(SECRET);
  });

  it('refuses plaintext over maxPlaintextBytes', () => {
    const small = createSecretBox({ key: NEW, maxPlaintextBytes: 10 });
    expect(() => small.seal('x'.repeat(11))).toThrow(RangeError);
    expect(small.open(small.seal('x'.repeat(10)))).toBe('x'.repeat(10));
  });
});

describe('createSecretBox: associated data', () => {
  const box = createSecretBox({ key: NEW });

  it('opens only with the associated data it was sealed with', () => {
    const sealed = box.seal(SECRET, { aad: 'tenant:1:openai' });
    expect(box.open(sealed, { aad: 'tenant:1:openai' })).toBe(SECRET);
    expect(box.open(sealed, { aad: Buffer.from('tenant:1:openai') })).toBe(SECRET);
  });

  it.each([
    ['moved to another record', 'tenant:2:openai'],
    ['moved to another field', 'tenant:1:anthropic'],
    ['opened without associated data', undefined],
    ['a prefix of the record id', 'tenant:1:open'],
  ])('refuses a value %s', (_case, aad) => {
    const sealed = box.seal(SECRET, { aad: 'tenant:1:openai' });
    openError(() => box.open(sealed, aad === undefined ? undefined : { aad }));
  });

  it('refuses a value sealed without associated data when some is given', () => {
    openError(() => box.open(box.seal(SECRET), { aad: 'tenant:1:openai' }));
  });
});

describe('createSecretBox: tampering', () => {
  const a = createSecretBox({
    keys: [
      { id: 'a', key: NEW },
      { id: 'b', key: OLD },
    ],
  });
  const sealed = a.seal(SECRET, { aad: 'row:7' });
  const ivBits = 96;
  const bodyBits = Buffer.from(sealed.split('.')[3]!, 'base64url').length * 8;
  const tagStart = bodyBits - 128;

  it.each([
    ['IV', 2, 0, ivBits],
    ['ciphertext', 3, 0, tagStart],
    ['tag', 3, tagStart, bodyBits],
  ])('refuses every single-bit flip of the %s', (_part, index, from, to) => {
    for (let bit = from; bit < to; bit++) {
      openError(() => a.open(flipBit(sealed, index, bit), { aad: 'row:7' }));
    }
  });

  it.each([
    ['another known key id', replacePart(sealed, 1, 'b')],
    ['an unknown key id', replacePart(sealed, 1, 'zz')],
    ['version v2', replacePart(sealed, 0, 'v2')],
    ['version V1', replacePart(sealed, 0, 'V1')],
    ['version v0', replacePart(sealed, 0, 'v0')],
    ['version 1', replacePart(sealed, 0, '1')],
  ])('refuses a value whose header names %s', (_case, value) => {
    openError(() => a.open(value, { aad: 'row:7' }));
  });

  it('says which check failed without echoing the input', () => {
    const error = openError(() => a.open(replacePart(sealed, 1, 'zz')));
    expect(error.detail).toContain('unknown key id');
    expect(error.detail).not.toContain(sealed);
  });

  it('refuses a value sealed under a key it does not hold', () => {
    const other = createSecretBox({ keys: [{ id: 'a', key: fakeKey('other') }] });
    openError(() => other.open(sealed, { aad: 'row:7' }));
  });
});

describe('createSecretBox: malformed input', () => {
  const box = createSecretBox({ key: NEW });
  const sealed = box.seal(SECRET);
  const [version, kid, iv, body] = sealed.split('.') as [string, string, string, string];

  it.each([
    ['empty', ''],
    ['one part', version],
    ['three parts', `${version}.${kid}.${iv}`],
    ['an extra dot at the end', `${sealed}.`],
    ['an extra part', `${sealed}.${body}`],
    ['an extra dot in the middle', `${version}.${kid}..${iv}.${body}`],
    ['an empty version', `.${kid}.${iv}.${body}`],
    ['an empty key id', `${version}..${iv}.${body}`],
    ['an empty IV', `${version}.${kid}..${body}`],
    ['an empty ciphertext', `${version}.${kid}.${iv}.`],
    ['only dots', '...'],
    ['a short IV', `${version}.${kid}.${iv.slice(0, 12)}.${body}`],
    ['a long IV', `${version}.${kid}.${iv}AAAA.${body}`],
    ['a body shorter than a tag', `${version}.${kid}.${iv}.${body.slice(0, 20)}`],
    ['a body one character short', sealed.slice(0, -1)],
    ['a body four characters short', sealed.slice(0, -4)],
    ['standard base64 "+"', `${version}.${kid}.${iv}.+${body.slice(1)}`],
    ['standard base64 "/"', `${version}.${kid}.${iv.slice(0, -1)}/.${body}`],
    ['padding', `${version}.${kid}.${iv}.${body}==`],
    ['a space', `${version}.${kid}.${iv}.${body.slice(0, 4)} ${body.slice(5)}`],
    ['a newline', `${sealed}\n`],
    ['leading whitespace', ` ${sealed}`],
    ['a non-ASCII letter', `${version}.${kid}.${iv}.é${body.slice(1)}`],
    ['a dot-free key id with bad characters', `${version}.k!d.${iv}.${body}`],
    ['a key id over 64 characters', `${version}.${'k'.repeat(65)}.${iv}.${body}`],
  ])('refuses %s', (_case, value) => {
    openError(() => box.open(value));
  });

  it('refuses non-canonical base64url (spare bits set)', () => {
    // The last character of a 22-char group carries 4 unused bits; setting one keeps the bytes.
    const last = body.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet
      .split('')
      .find(
        (c) =>
          c !== last &&
          Buffer.from(body.slice(0, -1) + c, 'base64url').equals(Buffer.from(body, 'base64url')),
      );
    expect(twin).toBeDefined();
    openError(() => box.open(`${version}.${kid}.${iv}.${body.slice(0, -1)}${twin!}`));
  });

  it('refuses a 10 MB input before decoding it', () => {
    const huge = `${version}.${kid}.${iv}.${'A'.repeat(10 * 1024 * 1024)}`;
    const error = openError(() => box.open(huge));
    expect(error.detail).toContain('too long');
  });

  it.each([[undefined], [null], [42], [{}], [['v1']], [Buffer.from(sealed)]])(
    'refuses a non-string %j',
    (value) => {
      openError(() => box.open(value as never));
    },
  );

  it('needsReseal refuses malformed input too', () => {
    openError(() => box.needsReseal('v2.a.b.c'));
    openError(() => box.needsReseal('garbage'));
  });
});

describe('createSecretBox: rotation', () => {
  const oldBox = createSecretBox({ key: OLD });
  const rotating = createSecretBox({ key: NEW, previousKeys: [OLD] });
  const newOnly = createSecretBox({ key: NEW });

  it('opens values sealed under a previous key and seals under the current one', () => {
    const old = oldBox.seal(SECRET, { aad: 'row:1' });
    expect(rotating.open(old, { aad: 'row:1' })).toBe(SECRET);
    expect(rotating.needsReseal(old)).toBe(true);
    const fresh = rotating.reseal(old, { aad: 'row:1' });
    expect(rotating.needsReseal(fresh)).toBe(false);
    expect(fresh.split('.')[1]).toBe(newOnly.currentKeyId);
    expect(newOnly.open(fresh, { aad: 'row:1' })).toBe(SECRET);
    openError(() => newOnly.open(old, { aad: 'row:1' }));
  });

  it('returns a current value unchanged from reseal, after checking it opens', () => {
    const current = rotating.seal(SECRET);
    expect(rotating.reseal(current)).toBe(current);
    openError(() => rotating.reseal(flipBit(current, 3, 0)));
  });

  it('refuses to reseal with the wrong associated data', () => {
    const old = oldBox.seal(SECRET, { aad: 'row:1' });
    openError(() => rotating.reseal(old, { aad: 'row:2' }));
  });

  it('reports an unknown key id as needing reseal, but reseal refuses it', () => {
    const foreign = createSecretBox({ key: fakeKey('foreign') }).seal(SECRET);
    expect(rotating.needsReseal(foreign)).toBe(true);
    openError(() => rotating.reseal(foreign));
  });
});

describe('createSecretBox options', () => {
  it.each([
    ['a short key', { key: NEW.slice(0, 62) }],
    ['a long key', { key: `${NEW}00` }],
    ['a non-hex key', { key: `${NEW.slice(0, 63)}g` }],
    ['a base64 key', { key: Buffer.from(NEW, 'hex').toString('base64') }],
    ['a key with a newline', { key: `${NEW}\n` }],
    ['an all-zero key', { key: '0'.repeat(64) }],
    ['a repeated byte', { key: 'ab'.repeat(32) }],
    ['a repeated pattern', { key: '0123456789abcdef'.repeat(4) }],
    ['a repeated 16-byte block', { key: NEW.slice(0, 32).repeat(2) }],
    ['few distinct bytes', { key: '00010203'.repeat(6) + '0001020304050607' }],
    ['31 raw bytes', { keys: [Buffer.alloc(31, 7)] }],
    ['all-zero raw bytes', { keys: [new Uint8Array(32)] }],
    ['a number', { key: 42 }],
    ['null', { key: null }],
    ['an object', { key: {} }],
    ['no key', {}],
    ['empty keys', { keys: [] }],
    ['keys not an array', { keys: NEW }],
    ['both shapes', { keys: [NEW], key: OLD }],
    ['previousKeys without key', { previousKeys: [OLD] }],
    ['previousKeys not an array', { key: NEW, previousKeys: OLD }],
    ['a weak previous key', { key: NEW, previousKeys: ['0'.repeat(64)] }],
    ['the same key twice', { key: NEW, previousKeys: [NEW] }],
    [
      'the same id twice',
      {
        keys: [
          { id: 'a', key: NEW },
          { id: 'a', key: OLD },
        ],
      },
    ],
    ['a key id with a dot', { keys: [{ id: 'a.b', key: NEW }] }],
    ['an empty key id', { keys: [{ id: '', key: NEW }] }],
    ['an empty kid', { keys: [{ kid: '', key: NEW }] }],
    ['a kid with a dot', { keys: [{ kid: 'a.b', key: NEW }] }],
    ['a numeric kid', { keys: [{ kid: 7, key: NEW }] }],
    ['id and kid that differ', { keys: [{ id: 'a', kid: 'b', key: NEW }] }],
    ['an unknown member', { keys: [{ keyId: 'a', key: NEW }] }],
    ['an alg member', { keys: [{ kid: 'a', alg: 'A256GCM', key: NEW }] }],
    ['a k member (JWK) instead of key', { keys: [{ kid: 'a', k: NEW }] }],
    ['an unknown current', { keys: [{ id: 'a', key: NEW }], current: 'b' }],
    ['current with key', { key: NEW, current: 'x' }],
    ['maxPlaintextBytes -1', { key: NEW, maxPlaintextBytes: -1 }],
    ['maxPlaintextBytes NaN', { key: NEW, maxPlaintextBytes: Number.NaN }],
    ['maxPlaintextBytes Infinity', { key: NEW, maxPlaintextBytes: Infinity }],
    ["maxPlaintextBytes '5'", { key: NEW, maxPlaintextBytes: '5' }],
    ['maxPlaintextBytes null', { key: NEW, maxPlaintextBytes: null }],
    ['maxPlaintextBytes {}', { key: NEW, maxPlaintextBytes: {} }],
    ['an unknown option', { key: NEW, previousKey: [OLD] }],
  ])('refuses %s', (_case, options) => {
    const error = configError(() => createSecretBox(options as never));
    expect(error.message).not.toContain(NEW);
    expect(error.message).not.toContain(OLD);
  });

  it('lists every problem at once', () => {
    const error = configError(() =>
      createSecretBox({ key: '0'.repeat(64), previousKeys: ['short'], maxPlaintextBytes: 0 }),
    );
    expect(error.problems.length).toBe(3);
  });

  it('names the unknown member of a key entry', () => {
    const error = configError(() =>
      createSecretBox({
        keys: [
          { kid: 'a', key: NEW },
          { keyId: 'b', key: OLD },
        ],
      } as never),
    );
    expect(error.problems).toEqual([
      expect.stringMatching(/`keys\[1\]` has an unknown member `keyId`/),
    ]);
  });

  it('suggests the right name for a typo', () => {
    const error = configError(() => createSecretBox({ key: NEW, previousKey: [OLD] } as never));
    expect(error.message).toContain('previousKeys');
  });

  it('is frozen', () => {
    const box: SecretBox = createSecretBox({ key: NEW });
    expect(Object.isFrozen(box)).toBe(true);
    expect(Object.isFrozen(box.keyIds)).toBe(true);
  });
});
