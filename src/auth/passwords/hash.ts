/**
 * Password hashing: bcrypt through bcryptjs's asynchronous API, one hash at a
 * time on a bounded line (`queue.ts`). bcrypt only reads the first 72 bytes
 * of a password; every function here refuses longer passwords instead of
 * letting the tail be silently ignored.
 */
import bcrypt from 'bcryptjs';
import { randomBytes } from 'node:crypto';
import { BulwarkError } from '../../errors.js';
import { OptionChecker } from '../../internal/options.js';
import type { KnownKeys } from '../../internal/options.js';
import { warnOnce } from '../../internal/warn.js';
import { sharedPasswordQueue, type PasswordQueue } from './queue.js';

/** bcrypt reads at most this many UTF-8 bytes of a password. */
export const MAX_PASSWORD_BYTES = 72;
const DEFAULT_COST = 12;
const MIN_COST = 10;
const MAX_COST = 15;
/** Older hashes below MIN_COST still verify so their users can log in and be rehashed. */
const MIN_VERIFIABLE_COST = 4;

// `$2a$`, `$2b$` and `$2y$` are the same algorithm for valid UTF-8 input; `$2x$`
// (the buggy pre-2011 variant) is not supported by bcryptjs and so not accepted.
const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

export interface QueueOption {
  /** The line bcrypt work waits in; full, it refuses with 503 `auth.overloaded`. @default the shared queue */
  queue?: PasswordQueue;
}

export interface HashPasswordOptions extends QueueOption {
  /** bcrypt cost (log2 of the rounds): an integer from 10 to 15. Default 12. */
  cost?: number;
}

const HASH_OPTION_KEYS: KnownKeys<HashPasswordOptions> = { cost: true, queue: true };
const QUEUE_OPTION_KEYS: KnownKeys<QueueOption> = { queue: true };

function isQueue(value: unknown): value is PasswordQueue {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<PasswordQueue>).run === 'function'
  );
}

function checkQueue(check: OptionChecker<QueueOption>): PasswordQueue {
  const queue = check.raw('queue');
  if (queue === undefined) return sharedPasswordQueue();
  if (!isQueue(queue)) check.problem('`queue` must come from createPasswordQueue()');
  return queue as PasswordQueue;
}

function checkCost(
  scope: string,
  options: HashPasswordOptions | undefined,
): { cost: number; queue: PasswordQueue } {
  const check = new OptionChecker(scope, options, HASH_OPTION_KEYS);
  const cost = check.number('cost', {
    min: MIN_COST,
    max: MAX_COST,
    integer: true,
    default: DEFAULT_COST,
  });
  const queue = checkQueue(check);
  check.done();
  return { cost, queue };
}

function requireString(scope: string, name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') {
    const got = value === null ? 'null' : typeof value;
    throw new TypeError(`${scope}: \`${name}\` must be a string, got ${got}`);
  }
}

/** The cost of a well-formed bcrypt hash we are willing to verify, else undefined. */
function hashCost(hash: string): number | undefined {
  const match = BCRYPT_HASH.exec(hash);
  if (match === null) return undefined;
  const cost = Number(match[1]);
  // A stored hash with an absurd cost (`$2b$31$` is days of CPU) must not let
  // whoever can write the user table stall the server.
  return cost >= MIN_VERIFIABLE_COST && cost <= MAX_COST ? cost : undefined;
}

function warnMalformedHash(): void {
  warnOnce(
    'BULWARK_MALFORMED_PASSWORD_HASH',
    'A stored password hash is not a bcrypt hash with a cost from 4 to 15; verification returned false.',
  );
}

/**
 * Hashes a password with bcrypt, without blocking the event loop.
 *
 * @param password the password as typed; at most 72 UTF-8 bytes, not empty
 * @param [options.cost=12] bcrypt cost from 10 to 15
 * @returns a `$2b$` bcrypt hash (60 characters)
 * @throws BulwarkConfigError for a bad `cost`; TypeError for a non-string password;
 *   BulwarkError `password.weak` for an empty one; BulwarkError `password.too_long`
 *   for one over 72 UTF-8 bytes; BulwarkError `auth.overloaded` when the queue is full
 * @example
 * const hash = await hashPassword(req.body.password);
 */
export async function hashPassword(
  password: string,
  options?: HashPasswordOptions,
): Promise<string> {
  const { cost, queue } = checkCost('hashPassword', options);
  requireString('hashPassword', 'password', password);
  if (password === '') {
    throw new BulwarkError('password.weak', {
      detail: 'The password is empty.',
      extensions: { problems: [{ code: 'too_short', message: 'The password is empty.' }] },
    });
  }
  if (bcrypt.truncates(password)) {
    throw new BulwarkError('password.too_long', {
      detail: `The password is longer than ${MAX_PASSWORD_BYTES} bytes.`,
    });
  }
  return queue.run(() => bcrypt.hash(password, cost));
}

/**
 * Checks a password against a bcrypt hash, without blocking the event loop.
 *
 * Returns false, without running bcrypt, for an empty password, a password
 * over 72 UTF-8 bytes (no hash made here can match it, and bcrypt would
 * otherwise compare only its first 72 bytes) and a hash that is not a bcrypt
 * hash with a cost from 4 to 15 (also warned about once per process).
 *
 * @throws TypeError when `password` or `hash` is not a string: for a user that
 *   does not exist, call `verifyPasswordOrDummy` so the answer takes as long
 * @example
 * if (!(await verifyPassword(req.body.password, user.passwordHash))) deny();
 */
export async function verifyPassword(
  password: string,
  hash: string,
  options?: QueueOption,
): Promise<boolean> {
  const check = new OptionChecker('verifyPassword', options, QUEUE_OPTION_KEYS);
  const queue = checkQueue(check);
  check.done();
  requireString('verifyPassword', 'password', password);
  if (typeof hash !== 'string') {
    throw new TypeError(
      'verifyPassword: `hash` must be a string; for an unknown user call verifyPasswordOrDummy(password, undefined)',
    );
  }
  if (password === '' || bcrypt.truncates(password)) return false;
  if (hashCost(hash) === undefined) {
    warnMalformedHash();
    return false;
  }
  return queue.run(() => bcrypt.compare(password, hash));
}

const dummyHashes = new Map<number, Promise<string>>();

function dummyHash(cost: number): Promise<string> {
  let hash = dummyHashes.get(cost);
  if (hash === undefined) {
    // Random and discarded: no password can be known to match it.
    // Outside any queue: made once per cost, it must not be refused when the line is full.
    hash = bcrypt.hash(randomBytes(32).toString('base64url'), cost);
    dummyHashes.set(cost, hash);
    void hash.catch(() => dummyHashes.delete(cost));
  }
  return hash;
}

export interface VerifyPasswordOrDummyOptions extends QueueOption {
  /** Cost of the dummy hash compared when there is no user: use the cost your hashes use. Default 12. */
  cost?: number;
}

/**
 * `verifyPassword` for login paths, where `hash` is undefined (or null) when
 * the user does not exist. Then the password is compared with a dummy hash of
 * the same cost (made once per cost, on first use) and the answer is false, so
 * an unknown user takes as long as a wrong password and usernames cannot be
 * enumerated by timing. A malformed stored hash is treated the same way.
 *
 * @param [options.cost=12] cost of the dummy hash, from 10 to 15
 * @example
 * const user = await users.findByUsername(username);
 * const ok = await verifyPasswordOrDummy(password, user?.passwordHash);
 */
export async function verifyPasswordOrDummy(
  password: string,
  hash: string | null | undefined,
  options?: VerifyPasswordOrDummyOptions,
): Promise<boolean> {
  const { cost, queue } = checkCost('verifyPasswordOrDummy', options);
  requireString('verifyPasswordOrDummy', 'password', password);
  if (hash !== undefined && hash !== null) {
    requireString('verifyPasswordOrDummy', 'hash', hash);
  }
  // Known and unknown users answer at once alike: the length is the caller's own input.
  if (password === '' || bcrypt.truncates(password)) return false;
  if (typeof hash === 'string' && hashCost(hash) !== undefined) {
    return queue.run(() => bcrypt.compare(password, hash));
  }
  if (typeof hash === 'string') warnMalformedHash();
  const dummy = await dummyHash(cost);
  await queue.run(() => bcrypt.compare(password, dummy));
  return false;
}

/**
 * True when `hash` should be replaced by a fresh `hashPassword(password, options)`
 * after the next successful login: its cost differs from `options.cost`
 * (default 12), or it is not a well-formed bcrypt hash.
 */
export function passwordNeedsRehash(hash: string, options?: HashPasswordOptions): boolean {
  const { cost } = checkCost('passwordNeedsRehash', options);
  requireString('passwordNeedsRehash', 'hash', hash);
  return hashCost(hash) !== cost;
}
