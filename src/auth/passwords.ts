/**
 * Password hashing (bcrypt through bcryptjs's asynchronous API) and a password
 * policy check. bcrypt only reads the first 72 bytes of a password; every
 * function here refuses longer passwords instead of letting the tail be
 * silently ignored.
 */
import bcrypt from 'bcryptjs';
import { randomBytes } from 'node:crypto';
import { BulwarkError } from '../errors.js';
import { OptionChecker } from '../internal/options.js';
import type { KnownKeys } from '../internal/options.js';
import { warnOnce } from '../internal/warn.js';
import { COMMON_PASSWORDS } from './common-passwords.js';

/** bcrypt reads at most this many UTF-8 bytes of a password. */
const MAX_PASSWORD_BYTES = 72;
const DEFAULT_COST = 12;
const MIN_COST = 10;
const MAX_COST = 15;
/** Older hashes below MIN_COST still verify so their users can log in and be rehashed. */
const MIN_VERIFIABLE_COST = 4;

// `$2a$`, `$2b$` and `$2y$` are the same algorithm for valid UTF-8 input; `$2x$`
// (the buggy pre-2011 variant) is not supported by bcryptjs and so not accepted.
const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

export interface HashPasswordOptions {
  /** bcrypt cost (log2 of the rounds): an integer from 10 to 15. Default 12. */
  cost?: number;
}

const HASH_OPTION_KEYS: KnownKeys<HashPasswordOptions> = { cost: true };

function checkCost(scope: string, options: HashPasswordOptions | undefined): number {
  const check = new OptionChecker(scope, options, HASH_OPTION_KEYS);
  const cost = check.number('cost', {
    min: MIN_COST,
    max: MAX_COST,
    integer: true,
    default: DEFAULT_COST,
  });
  check.done();
  return cost;
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

// bcryptjs runs on the main thread and yields with setImmediate after each
// ~100 ms slice. Several operations in flight all run their slices in the same
// check phase, so ten concurrent verifications block the event loop for about
// a second at a time; one at a time, no block is longer than one slice. The
// total CPU time is the same either way, since there is only one thread.
let queueTail: Promise<unknown> = Promise.resolve();

function oneAtATime<T>(task: () => Promise<T>): Promise<T> {
  const run = queueTail.then(task);
  queueTail = run.catch(() => undefined);
  return run;
}

/**
 * Hashes a password with bcrypt, without blocking the event loop.
 *
 * @param password the password as typed; at most 72 UTF-8 bytes, not empty
 * @param [options.cost=12] bcrypt cost from 10 to 15
 * @returns a `$2b$` bcrypt hash (60 characters)
 * @throws BulwarkConfigError for a bad `cost`; TypeError for a non-string password;
 *   BulwarkError `password.weak` for an empty one; BulwarkError `password.too_long`
 *   for one over 72 UTF-8 bytes
 * @example
 * const hash = await hashPassword(req.body.password);
 */
export async function hashPassword(
  password: string,
  options?: HashPasswordOptions,
): Promise<string> {
  const cost = checkCost('hashPassword', options);
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
  return oneAtATime(() => bcrypt.hash(password, cost));
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
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
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
  return oneAtATime(() => bcrypt.compare(password, hash));
}

const dummyHashes = new Map<number, Promise<string>>();

function dummyHash(cost: number): Promise<string> {
  let hash = dummyHashes.get(cost);
  if (hash === undefined) {
    // Random and discarded: no password can be known to match it.
    hash = hashPassword(randomBytes(32).toString('base64url'), { cost });
    dummyHashes.set(cost, hash);
    void hash.catch(() => dummyHashes.delete(cost));
  }
  return hash;
}

export interface VerifyPasswordOrDummyOptions {
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
  const cost = checkCost('verifyPasswordOrDummy', options);
  requireString('verifyPasswordOrDummy', 'password', password);
  if (hash !== undefined && hash !== null) {
    requireString('verifyPasswordOrDummy', 'hash', hash);
  }
  // Known and unknown users answer at once alike: the length is the caller's own input.
  if (password === '' || bcrypt.truncates(password)) return false;
  if (typeof hash === 'string' && hashCost(hash) !== undefined) {
    return oneAtATime(() => bcrypt.compare(password, hash));
  }
  if (typeof hash === 'string') warnMalformedHash();
  const dummy = await dummyHash(cost);
  await oneAtATime(() => bcrypt.compare(password, dummy));
  return false;
}

/**
 * True when `hash` should be replaced by a fresh `hashPassword(password, options)`
 * after the next successful login: its cost differs from `options.cost`
 * (default 12), or it is not a well-formed bcrypt hash.
 */
export function passwordNeedsRehash(hash: string, options?: HashPasswordOptions): boolean {
  const cost = checkCost('passwordNeedsRehash', options);
  requireString('passwordNeedsRehash', 'hash', hash);
  return hashCost(hash) !== cost;
}

// --- Policy ---------------------------------------------------------------

/** Stable machine codes of `checkPasswordPolicy` problems. */
export type PasswordProblemCode =
  | 'invalid_type'
  | 'too_short'
  | 'too_long'
  | 'no_uppercase'
  | 'no_lowercase'
  | 'no_digit'
  | 'no_symbol'
  | 'contains_username'
  | 'common';

export interface PasswordProblem {
  readonly code: PasswordProblemCode;
  /** English sentence for people; never contains the password or the username. */
  readonly message: string;
}

export interface PasswordPolicyResult {
  readonly ok: boolean;
  readonly problems: readonly PasswordProblem[];
}

/** The rules of a policy; every rule is on by default. */
export interface PasswordPolicyRules {
  /** Fewest characters (Unicode code points), an integer from 8 to 72. Default 12. */
  minLength?: number;
  /** At least one upper-case letter (`\p{Lu}` or `\p{Lt}`). Default true. */
  requireUppercase?: boolean;
  /** At least one lower-case letter (`\p{Ll}`). Default true. */
  requireLowercase?: boolean;
  /** At least one decimal digit in any script (`\p{Nd}`). Default true. */
  requireDigit?: boolean;
  /** At least one punctuation mark, symbol or space (`\p{P}`, `\p{S}`, `\p{Zs}`). Default true. */
  requireSymbol?: boolean;
  /** Refuse the most common passwords, also with digits and symbols around them. Default true. */
  rejectCommon?: boolean;
  /** Words refused like common passwords, e.g. the service's own name. Default none. */
  extraCommonPasswords?: readonly string[];
  /** Refuse passwords containing the username (case-insensitive). Default true. */
  rejectUsername?: boolean;
}

export interface PasswordPolicyContext {
  /** The account's username (or e-mail address); the password must not contain it. */
  username?: string;
}

/** Rules plus the per-call context, as `checkPasswordPolicy` takes them. */
export interface PasswordPolicy extends PasswordPolicyRules, PasswordPolicyContext {}

/** A prepared policy: rules checked once, applied to each password. */
export type PasswordPolicyCheck = (
  password: unknown,
  context?: PasswordPolicyContext,
) => PasswordPolicyResult;

const RULE_KEYS: KnownKeys<PasswordPolicyRules> = {
  minLength: true,
  requireUppercase: true,
  requireLowercase: true,
  requireDigit: true,
  requireSymbol: true,
  rejectCommon: true,
  extraCommonPasswords: true,
  rejectUsername: true,
};
const CONTEXT_KEYS: KnownKeys<PasswordPolicyContext> = { username: true };
const POLICY_KEYS: KnownKeys<PasswordPolicy> = { ...RULE_KEYS, ...CONTEXT_KEYS };

/** A username shorter than this is too likely to occur by chance to refuse on containment. */
const MIN_CONTAINED_USERNAME = 3;
/** A word left after stripping affixes shorter than this matches too much by chance. */
const MIN_COMMON_STEM = 4;

const UPPERCASE = /[\p{Lu}\p{Lt}]/u;
const LOWERCASE = /\p{Ll}/u;
const DIGIT = /\p{Nd}/u;
const SYMBOL = /[\p{P}\p{S}\p{Zs}]/u;
const LETTER = /^\p{L}$/u;

let commonSet: ReadonlySet<string> | undefined;

function commonPasswords(): ReadonlySet<string> {
  commonSet ??= new Set(COMMON_PASSWORDS);
  return commonSet;
}

/** Characters as the policy counts them: code points, so an emoji or `𝔸` is one, not two. */
function codePoints(text: string): number {
  return Array.from(text).length;
}

/**
 * The text without the non-letters at either end: `password` from `!!Password123!`.
 * A loop, not a regular expression: `/[^\p{L}]+$/` backtracks quadratically
 * on a long run of digits followed by a letter.
 */
function letterStem(text: string): string {
  const chars = Array.from(text);
  let start = 0;
  let end = chars.length;
  while (start < end && !LETTER.test(chars[start] ?? '')) start++;
  while (end > start && !LETTER.test(chars[end - 1] ?? '')) end--;
  return chars.slice(start, end).join('');
}

/** NFKC folds look-alikes such as full-width letters; comparisons are then case-insensitive. */
function fold(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

function checkRules(check: OptionChecker<PasswordPolicyRules>): PasswordPolicyCheck {
  const minLength = check.number('minLength', {
    min: 8,
    max: MAX_PASSWORD_BYTES,
    integer: true,
    default: 12,
  });
  const requireUppercase = check.boolean('requireUppercase', true);
  const requireLowercase = check.boolean('requireLowercase', true);
  const requireDigit = check.boolean('requireDigit', true);
  const requireSymbol = check.boolean('requireSymbol', true);
  const rejectCommon = check.boolean('rejectCommon', true);
  const rejectUsername = check.boolean('rejectUsername', true);
  const extra = check.stringArray('extraCommonPasswords', []);
  if (extra.some((word) => word.trim() === '')) {
    check.problem('`extraCommonPasswords` must not contain empty entries');
  }
  const extraSet = new Set(extra.map(fold));

  function isCommon(folded: string): boolean {
    const common = commonPasswords();
    if (common.has(folded) || extraSet.has(folded)) return true;
    const stem = letterStem(folded);
    return (
      stem !== folded &&
      codePoints(stem) >= MIN_COMMON_STEM &&
      (common.has(stem) || extraSet.has(stem))
    );
  }

  function containsUsername(folded: string, username: string | undefined): boolean {
    if (username === undefined) return false;
    const name = fold(username.trim());
    const at = name.lastIndexOf('@');
    const candidates = at > 0 ? [name, name.slice(0, at)] : [name];
    return candidates.some(
      (candidate) => codePoints(candidate) >= MIN_CONTAINED_USERNAME && folded.includes(candidate),
    );
  }

  return function passwordPolicyCheck(password, context) {
    const contextCheck = new OptionChecker('checkPasswordPolicy context', context, CONTEXT_KEYS);
    const username = contextCheck.string('username', undefined);
    contextCheck.done();

    if (typeof password !== 'string') {
      return {
        ok: false,
        problems: [{ code: 'invalid_type', message: 'The password must be a string.' }],
      };
    }
    const problems: PasswordProblem[] = [];
    const add = (code: PasswordProblemCode, message: string): void => {
      problems.push({ code, message });
    };
    if (codePoints(password) < minLength) {
      add('too_short', `The password must be at least ${minLength} characters long.`);
    }
    if (bcrypt.truncates(password)) {
      add('too_long', `The password must be at most ${MAX_PASSWORD_BYTES} bytes long (UTF-8).`);
    }
    if (requireUppercase && !UPPERCASE.test(password)) {
      add('no_uppercase', 'The password must contain an upper-case letter.');
    }
    if (requireLowercase && !LOWERCASE.test(password)) {
      add('no_lowercase', 'The password must contain a lower-case letter.');
    }
    if (requireDigit && !DIGIT.test(password)) {
      add('no_digit', 'The password must contain a digit.');
    }
    if (requireSymbol && !SYMBOL.test(password)) {
      add('no_symbol', 'The password must contain a symbol, punctuation mark or space.');
    }
    const folded = fold(password);
    if (rejectUsername && containsUsername(folded, username)) {
      add('contains_username', 'The password must not contain the username.');
    }
    if (rejectCommon && isCommon(folded)) {
      add('common', 'The password is one of the most commonly used passwords.');
    }
    return { ok: problems.length === 0, problems };
  };
}

/**
 * Checks the rules once and returns a function that applies them to a
 * password, so a misconfigured policy fails at start-up, not on a request.
 *
 * @example
 * const policy = createPasswordPolicy({ minLength: 14 });
 * const { ok, problems } = policy(req.body.password, { username: req.body.username });
 */
export function createPasswordPolicy(rules?: PasswordPolicyRules): PasswordPolicyCheck {
  const check = new OptionChecker('createPasswordPolicy', rules, RULE_KEYS);
  const policy = checkRules(check);
  check.done();
  return policy;
}

const defaultPolicy = createPasswordPolicy();

/**
 * Checks a password against a policy: by default at least 12 characters, at
 * most 72 UTF-8 bytes, an upper-case and a lower-case letter, a digit and a
 * symbol, not containing `policy.username`, and not one of the 10,000 most
 * common passwords (ignoring case, and digits and symbols around a common word).
 * Every failed rule is reported, in a stable order.
 *
 * @throws BulwarkConfigError when `policy` is malformed
 * @example
 * const result = checkPasswordPolicy(password, { username });
 * if (!result.ok) throw new BulwarkError('password.weak', { extensions: { problems: result.problems } });
 */
export function checkPasswordPolicy(
  password: unknown,
  policy?: PasswordPolicy,
): PasswordPolicyResult {
  if (policy === undefined) return defaultPolicy(password);
  const check = new OptionChecker('checkPasswordPolicy', policy, POLICY_KEYS);
  const apply = checkRules(check);
  const username = check.string('username', undefined);
  check.done();
  return apply(password, username === undefined ? undefined : { username });
}
