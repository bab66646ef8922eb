/**
 * The password policy check: length, character classes, common passwords and
 * the username, each a stable problem code.
 */
import bcrypt from 'bcryptjs';
import { OptionChecker } from '../../internal/options.js';
import type { KnownKeys } from '../../internal/options.js';
import { commonPasswords } from '../common-passwords.js';
import { MAX_PASSWORD_BYTES } from './hash.js';

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

function commonPasswordSet(): ReadonlySet<string> {
  commonSet ??= new Set(commonPasswords());
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
    const common = commonPasswordSet();
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
