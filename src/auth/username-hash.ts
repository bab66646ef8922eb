import { createHmac, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

/**
 * Usernames never reach logs or store keys in clear (people type passwords
 * into the username field), and never as a plain digest either: a dictionary
 * reverses SHA-256 of a username in seconds. They are HMAC-SHA-256 digests
 * under a per-deployment key, so only someone holding that key can test a
 * guess.
 */

/** Shortest `usernameKey` accepted, in bytes. */
export const MIN_USERNAME_KEY_BYTES = 32;
const INFO = 'bulwark/username-hash/v1';

/**
 * The username key derived from a token service's signing key with HKDF-SHA-256
 * (RFC 5869), under its own label, so it reveals nothing about the signing key
 * and every replica with the same signing key derives the same one.
 */
export function deriveUsernameKey(signingKey: KeyObject): Buffer {
  const material =
    signingKey.type === 'secret'
      ? signingKey.export()
      : signingKey.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), INFO, 32));
}

/** A key for one process only, for when no deployment key is known. */
export function processUsernameKey(): Buffer {
  return randomBytes(32);
}

/** The key from an option value, or a problem with it. */
export function usernameKeyFrom(value: unknown): Buffer | string {
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
    return '`usernameKey` must be a string or Buffer';
  }
  const key = Buffer.from(value);
  if (key.length < MIN_USERNAME_KEY_BYTES) {
    return `\`usernameKey\` must be at least ${String(MIN_USERNAME_KEY_BYTES)} bytes`;
  }
  return key;
}

/** HMAC-SHA-256 of `username` under `key`, as hex. */
export function usernameDigest(key: Buffer, username: string): string {
  return createHmac('sha256', key).update(username, 'utf8').digest('hex');
}
