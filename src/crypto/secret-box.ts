import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { BulwarkConfigError, BulwarkError } from '../errors.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';

/** A 256-bit key: 64 hexadecimal characters, or 32 raw bytes. */
export type SecretBoxKeyMaterial = string | Uint8Array;

/** A key with an explicit id, for ids that must stay stable across deployments. */
export interface SecretBoxKeyEntry {
  /** 1–64 characters of `A-Z a-z 0-9 _ -`. @default a hash prefix of the key */
  id?: string;
  /** The JOSE spelling of `id`; give one of them (or both with the same value). */
  kid?: string;
  key: SecretBoxKeyMaterial;
}

const ENTRY_MEMBERS: ReadonlySet<string> = new Set(['id', 'kid', 'key']);

export interface SecretBoxOptions {
  /**
   * Every key that may open a sealed value. Seals use `current`, or the first
   * key when `current` is not given.
   */
  keys?: readonly (SecretBoxKeyMaterial | SecretBoxKeyEntry)[];
  /** Id of the key new seals use. @default the first of `keys` */
  current?: string;
  /** The config shape: `ENCRYPTION_KEY`, the key new seals use. Instead of `keys`. */
  key?: SecretBoxKeyMaterial;
  /** The config shape: `ENCRYPTION_PREVIOUS_KEYS`, still accepted to open. With `key`. */
  previousKeys?: readonly SecretBoxKeyMaterial[];
  /** Largest plaintext `seal` accepts, in bytes; also bounds what `open` reads. @default 1 MiB */
  maxPlaintextBytes?: number;
}

export interface SealOptions {
  /**
   * Associated data: authenticated, not stored. Pass something that names the
   * record (`user:42:openai_key`); a value moved to another record then fails
   * to open. Absent and empty are the same.
   */
  aad?: string | Uint8Array;
}

/** Seals and opens secrets at rest with AES-256-GCM under a rotatable key ring. */
export interface SecretBox {
  /** Id of the key new seals use. */
  readonly currentKeyId: string;
  /** Ids of every key that can open, current first. */
  readonly keyIds: readonly string[];
  /** Encrypts under the current key with a fresh random IV: `v1.<kid>.<iv>.<ciphertext+tag>`. */
  seal(plaintext: string | Uint8Array, options?: SealOptions): string;
  /** Decrypts and authenticates; throws `BulwarkError('crypto.open_failed')` on any fault. */
  open(sealed: string, options?: SealOptions): string;
  /** Like `open`, for binary plaintext. */
  openBytes(sealed: string, options?: SealOptions): Buffer;
  /**
   * True when the value is not sealed under the current key. Reads only the
   * header: a malformed value or an unknown version throws `crypto.open_failed`.
   */
  needsReseal(sealed: string): boolean;
  /** Opens and seals again under the current key; a value already current is returned as is. */
  reseal(sealed: string, options?: SealOptions): string;
}

const KNOWN: KnownKeys<SecretBoxOptions> = {
  keys: true,
  current: true,
  key: true,
  previousKeys: true,
  maxPlaintextBytes: true,
};

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const IV_CHARS = 16;
const KEY_HEX = /^[0-9a-fA-F]{64}$/;
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const DEFAULT_MAX_PLAINTEXT = 1024 * 1024;
// A random 32-byte key has about 30 distinct byte values; fewer than this is a hand-made key.
const MIN_DISTINCT_BYTES = 12;

interface LoadedKey {
  id: string;
  key: KeyObject;
  /** `v1.<kid>.` as bytes: authenticated with every seal so version and kid cannot be swapped. */
  header: Buffer;
}

function openFailed(detail: string, cause?: unknown): BulwarkError {
  return new BulwarkError('crypto.open_failed', {
    detail: `Sealed value could not be opened: ${detail}.`,
    cause,
  });
}

/** Decodes base64url only in its canonical form: no padding, no other alphabet, no spare bits. */
function strictBase64url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

function weakness(bytes: Uint8Array): string | undefined {
  if (bytes.every((b) => b === 0)) return 'is all zeros';
  for (let period = 1; period <= KEY_BYTES / 2; period++) {
    if (KEY_BYTES % period !== 0) continue;
    if (bytes.every((b, i) => b === bytes[i % period])) {
      return period === 1 ? 'repeats one byte' : 'repeats a short pattern';
    }
  }
  if (new Set(bytes).size < MIN_DISTINCT_BYTES) return 'has too few distinct bytes to be random';
  return undefined;
}

/** Turns key material into bytes, or explains (without echoing the key) why it is refused. */
function keyBytes(material: unknown, where: string, problems: string[]): Buffer | undefined {
  let bytes: Buffer;
  if (typeof material === 'string') {
    if (!KEY_HEX.test(material)) {
      problems.push(
        `${where} must be 64 hexadecimal characters (32 random bytes: \`openssl rand -hex 32\`), got ${String(material.length)} characters${material.length === 64 ? ' with non-hex ones' : ''}`,
      );
      return undefined;
    }
    bytes = Buffer.from(material, 'hex');
  } else if (material instanceof Uint8Array) {
    if (material.length !== KEY_BYTES) {
      problems.push(`${where} must be 32 bytes, got ${String(material.length)}`);
      return undefined;
    }
    bytes = Buffer.from(material);
  } else {
    problems.push(`${where} must be a 64-character hex string or 32 bytes`);
    return undefined;
  }
  const weak = weakness(bytes);
  if (weak !== undefined) {
    problems.push(`${where} ${weak}; generate one with \`openssl rand -hex 32\``);
    return undefined;
  }
  return bytes;
}

/** A short, stable id that names the key without revealing it (domain-separated hash prefix). */
function deriveKeyId(bytes: Buffer): string {
  return createHash('sha256')
    .update('bulwark secret-box key id\0')
    .update(bytes)
    .digest()
    .subarray(0, 8)
    .toString('base64url');
}

interface RawEntry {
  material: unknown;
  id: unknown;
  where: string;
}

/**
 * One `{ id | kid, key }` entry. Unknown members are refused like unknown
 * options: a misspelt id would otherwise fall back to a derived one silently.
 */
function entryOf(
  check: OptionChecker<SecretBoxOptions>,
  entry: Record<string, unknown>,
  where: string,
): RawEntry {
  for (const name of Object.keys(entry)) {
    if (!ENTRY_MEMBERS.has(name)) {
      check.problem(
        `${where} has an unknown member \`${name}\` (expected \`id\` or \`kid\`, and \`key\`)`,
      );
    }
  }
  const { id, kid, key } = entry;
  if (id !== undefined && kid !== undefined && id !== kid) {
    check.problem(`${where} gives \`id\` and \`kid\` with different values; give one`);
  }
  return { material: key, id: id ?? kid, where };
}

function entriesOf(check: OptionChecker<SecretBoxOptions>): RawEntry[] {
  const keys = check.raw('keys');
  const single = check.raw('key');
  const previous = check.raw('previousKeys');
  if (keys !== undefined && (single !== undefined || previous !== undefined)) {
    check.problem('give either `keys` or `key` (+ `previousKeys`), not both');
    return [];
  }
  if (keys !== undefined) {
    if (!Array.isArray(keys) || keys.length === 0) {
      check.problem('`keys` must be a non-empty array of keys');
      return [];
    }
    return keys.map((entry: unknown, i): RawEntry => {
      const where = `\`keys[${String(i)}]\``;
      if (typeof entry === 'object' && entry !== null && !(entry instanceof Uint8Array)) {
        return entryOf(check, entry as Record<string, unknown>, where);
      }
      return { material: entry, id: undefined, where };
    });
  }
  if (single === undefined) {
    check.problem('a key is required: `keys` or `key` (ENCRYPTION_KEY)');
    return [];
  }
  if (check.has('current')) check.problem('`current` goes with `keys`, not with `key`');
  const entries: RawEntry[] = [{ material: single, id: undefined, where: '`key`' }];
  if (previous !== undefined) {
    if (!Array.isArray(previous)) {
      check.problem('`previousKeys` must be an array of keys');
    } else {
      previous.forEach((material: unknown, i) => {
        entries.push({ material, id: undefined, where: `\`previousKeys[${String(i)}]\`` });
      });
    }
  }
  return entries;
}

/**
 * A key ring for secrets at rest (provider API keys, OAuth tokens): AES-256-GCM
 * with a fresh random 96-bit IV per seal, the key id inside the sealed string
 * so old values keep opening while the key rotates, and optional associated
 * data binding each value to its record.
 *
 * @param options.keys keys that may open; `current` (default: the first) seals
 * @param options.key the config shape: `ENCRYPTION_KEY`, with `previousKeys`
 * @param [options.maxPlaintextBytes=1048576]
 * @example
 * const box = createSecretBox({ key: process.env.ENCRYPTION_KEY, previousKeys: [] });
 * const stored = box.seal(providerKey, { aad: `tenant:${id}:openai` });
 * const providerKey = box.open(stored, { aad: `tenant:${id}:openai` });
 */
export function createSecretBox(options: SecretBoxOptions): SecretBox {
  const check = new OptionChecker('createSecretBox', options, KNOWN);
  const maxPlaintext = check.number('maxPlaintextBytes', {
    min: 1,
    max: 64 * 1024 * 1024,
    integer: true,
    default: DEFAULT_MAX_PLAINTEXT,
  });
  const currentId = check.string('current', undefined, { pattern: KEY_ID });

  const ring = new Map<string, LoadedKey>();
  const fingerprints = new Set<string>();
  const problems: string[] = [];
  for (const { material, id, where } of entriesOf(check)) {
    if (id !== undefined && (typeof id !== 'string' || !KEY_ID.test(id))) {
      problems.push(`${where}.id must be 1-64 characters of A-Z a-z 0-9 _ -`);
      continue;
    }
    const bytes = keyBytes(material, where, problems);
    if (bytes === undefined) continue;
    const fingerprint = deriveKeyId(bytes);
    if (fingerprints.has(fingerprint)) {
      problems.push(`${where} is the same key as an earlier one; list each key once`);
      continue;
    }
    fingerprints.add(fingerprint);
    const kid = id ?? fingerprint;
    if (ring.has(kid)) {
      problems.push(`${where} reuses the key id '${kid}'`);
      continue;
    }
    ring.set(kid, {
      id: kid,
      key: createSecretKey(bytes),
      header: Buffer.from(`${VERSION}.${kid}.`, 'ascii'),
    });
    bytes.fill(0);
  }
  for (const problem of problems) check.problem(problem);
  const sealing = currentId === undefined ? ring.values().next().value : ring.get(currentId);
  if (currentId !== undefined && sealing === undefined && problems.length === 0) {
    check.problem(`\`current\` names no key in \`keys\` ('${currentId}')`);
  }
  check.done();
  if (sealing === undefined) {
    throw new BulwarkConfigError('createSecretBox', ['no usable key']);
  }
  const current = sealing;
  const keyIds = Object.freeze([current.id, ...[...ring.keys()].filter((id) => id !== current.id)]);
  // Base64url of the largest ciphertext, plus the header and IV: anything longer is refused unread.
  const maxSealedLength =
    VERSION.length + 3 + 64 + IV_CHARS + Math.ceil(((maxPlaintext + TAG_BYTES) * 4) / 3);

  function associatedData(key: LoadedKey, aad: SealOptions['aad']): Buffer {
    if (aad === undefined) return key.header;
    const extra = typeof aad === 'string' ? Buffer.from(aad, 'utf8') : aad;
    return Buffer.concat([key.header, extra]);
  }

  function aadOf(options: SealOptions | undefined): SealOptions['aad'] {
    const aad = options?.aad;
    if (aad !== undefined && typeof aad !== 'string' && !(aad instanceof Uint8Array)) {
      throw new TypeError('aad must be a string or bytes');
    }
    return aad;
  }

  function parse(sealed: unknown): { kid: string; iv: string; body: string } {
    if (typeof sealed !== 'string') throw openFailed('not a string');
    // Checked before splitting or decoding, so a huge input costs nothing.
    if (sealed.length > maxSealedLength) throw openFailed('too long');
    const parts = sealed.split('.', 5);
    if (parts.length !== 4) throw openFailed('malformed');
    const [version = '', kid = '', iv = '', body = ''] = parts;
    if (version !== VERSION) throw openFailed('unsupported version');
    if (!KEY_ID.test(kid)) throw openFailed('malformed key id');
    if (iv === '' || body === '') throw openFailed('malformed');
    return { kid, iv, body };
  }

  function openBytes(sealed: string, options?: SealOptions): Buffer {
    const aad = aadOf(options);
    const parsed = parse(sealed);
    const key = ring.get(parsed.kid);
    if (key === undefined) throw openFailed('unknown key id');
    const iv = parsed.iv.length === IV_CHARS ? strictBase64url(parsed.iv) : undefined;
    if (iv === undefined) throw openFailed('malformed IV');
    const body = strictBase64url(parsed.body);
    if (body === undefined || body.length < TAG_BYTES) throw openFailed('malformed ciphertext');
    const decipher = createDecipheriv(ALGORITHM, key.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(key, aad));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const head = decipher.update(body.subarray(0, body.length - TAG_BYTES));
    try {
      const tail = decipher.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch (error) {
      // GCM releases plaintext before the tag is checked: wipe it, never return it.
      head.fill(0);
      throw openFailed(
        'authentication failed (tampered, wrong key or wrong associated data)',
        error,
      );
    }
  }

  const box: SecretBox = {
    currentKeyId: current.id,
    keyIds,

    seal(plaintext, options) {
      const aad = aadOf(options);
      let data: Uint8Array;
      if (typeof plaintext === 'string') data = Buffer.from(plaintext, 'utf8');
      else if (plaintext instanceof Uint8Array) data = plaintext;
      else throw new TypeError('plaintext must be a string or bytes');
      if (data.length > maxPlaintext) {
        throw new RangeError(`plaintext is over maxPlaintextBytes (${String(maxPlaintext)})`);
      }
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, current.key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(associatedData(current, aad));
      const body = Buffer.concat([cipher.update(data), cipher.final(), cipher.getAuthTag()]);
      return `${VERSION}.${current.id}.${iv.toString('base64url')}.${body.toString('base64url')}`;
    },

    open(sealed, options) {
      const bytes = openBytes(sealed, options);
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch (error) {
        throw openFailed('plaintext is not UTF-8; use openBytes', error);
      }
    },

    openBytes,

    needsReseal(sealed) {
      return parse(sealed).kid !== current.id;
    },

    reseal(sealed, options) {
      const plaintext = openBytes(sealed, options);
      try {
        return parse(sealed).kid === current.id ? sealed : box.seal(plaintext, options);
      } finally {
        plaintext.fill(0);
      }
    },
  };
  return Object.freeze(box);
}
