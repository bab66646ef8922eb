/**
 * A key is secret-bearing when its normalised form (lower case, without `-`,
 * `_`, `.` and spaces) ends with one of these words: `db_password`,
 * `X-Api-Key`, `githubToken` and `aws_secret_access_key` all match, while
 * `max_tokens`, `token_type` and `password_min_length` do not.
 */
export const SECRET_KEY_SUFFIXES: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'passcode',
  'secret',
  'token',
  'authorization',
  'cookie',
  'cookies',
  'session',
  'sessionid',
  'apikey',
  'privatekey',
  'secretkey',
  'accesskey',
  'credential',
  'credentials',
  'encryptionkey',
  'signingkey',
  'masterkey',
  'connectionstring',
];

/** Short names that would match too much as suffixes, so they match only as the whole key. */
export const SECRET_KEY_NAMES: readonly string[] = ['auth', 'pass', 'pin', 'otp', 'jwt', 'sid'];

const NORMALISE = /[-_.\s]/g;

export function normaliseKey(key: string): string {
  return key.toLowerCase().replace(NORMALISE, '');
}

// Keys repeat across records, so decisions are cached; the cap keeps a stream of
// distinct keys from growing it, and long keys are not cached at all.
const CACHE_LIMIT = 4096;
const CACHEABLE_KEY_LENGTH = 64;

/** Decides whether a key name is secret-bearing; built once per redactor. */
export class KeyMatcher {
  readonly #exact: ReadonlySet<string>;
  readonly #suffixes: readonly string[];
  readonly #cache = new Map<string, boolean>();
  /**
   * Lower-cased last two characters of every rule (`first << 7 | last`), so text
   * scanning rules out most `name=` and `name:` without building the name.
   * `undefined` when a rule is a single character or not ASCII.
   */
  readonly lastPairs: Uint8Array | undefined;

  constructor(extraKeys: readonly string[]) {
    this.#exact = new Set([...SECRET_KEY_NAMES, ...extraKeys.map(normaliseKey)]);
    this.#suffixes = SECRET_KEY_SUFFIXES;
    let pairs: Uint8Array | undefined = new Uint8Array(128 * 128);
    for (const word of [...this.#exact, ...this.#suffixes]) {
      const first = word.charCodeAt(word.length - 2);
      const last = word.charCodeAt(word.length - 1);
      if (word.length < 2 || first >= 128 || last >= 128) pairs = undefined;
      else if (pairs !== undefined) pairs[(first << 7) | last] = 1;
    }
    this.lastPairs = pairs;
  }

  matches(key: string): boolean {
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const normal = normaliseKey(key);
    let hit = this.#exact.has(normal);
    for (let i = 0; !hit && i < this.#suffixes.length; i++) {
      hit = normal.endsWith(this.#suffixes[i] ?? '');
    }
    if (key.length <= CACHEABLE_KEY_LENGTH) {
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(key, hit);
    }
    return hit;
  }
}
