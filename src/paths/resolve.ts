import { lstat, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { BulwarkConfigError } from '../errors.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import {
  checkRelative,
  DEFAULT_MAX_LENGTH,
  isInside,
  joinWithin,
  MAX_MAX_LENGTH,
  PathTraversalError,
  type PathRuleOptions,
  type PathRules,
} from './rules.js';

/** Options of `resolveWithinReal`: the shared rules plus what only the file system can tell. */
export interface RealPathOptions extends PathRuleOptions {
  /**
   * Serve regular files that have more than one hard link. A hard link inside
   * the root to a file outside it cannot be told from an ordinary file; only
   * its link count shows, so such files are refused unless this is set.
   * @default false
   */
  allowHardLinks?: boolean;
}

/** The rules `resolveRealFrom` applies, precomputed. */
export interface RealPathRules extends PathRules {
  readonly allowHardLinks: boolean;
}

const KNOWN_RULES: KnownKeys<PathRuleOptions> = {
  allowDotfiles: true,
  extensions: true,
  maxLength: true,
};

const KNOWN_REAL_RULES: KnownKeys<RealPathOptions> = { ...KNOWN_RULES, allowHardLinks: true };

const EXTENSION = /^\.[^/\\\0]+$/;

/** Reads the shared rule options; the caller's checker reports every problem at once. */
export function readRules<T extends PathRuleOptions>(check: OptionChecker<T>): PathRules {
  const allowDotfiles = check.boolean('allowDotfiles', false);
  const maxLength = check.number('maxLength', {
    min: 1,
    max: MAX_MAX_LENGTH,
    integer: true,
    default: DEFAULT_MAX_LENGTH,
  });
  let extensions: readonly string[] | undefined;
  if (check.has('extensions')) {
    const list = check.stringArray('extensions', [], { nonEmpty: true });
    const bad = list.filter((ext) => !EXTENSION.test(ext));
    if (bad.length > 0) {
      check.problem(`\`extensions\` entries must start with a dot, like '.txt'`);
    }
    extensions = list.map((ext) => ext.toLowerCase());
  }
  return { allowDotfiles, maxLength, extensions, windows: process.platform === 'win32' };
}

function rootOf(scope: string, root: unknown): string {
  if (typeof root !== 'string' || root === '' || root.includes('\0')) {
    throw new BulwarkConfigError(scope, ['`root` must be a non-empty path string']);
  }
  return path.resolve(root);
}

/** Reads the shared rules and `allowHardLinks`. */
export function readRealRules<T extends RealPathOptions>(check: OptionChecker<T>): RealPathRules {
  return { ...readRules(check), allowHardLinks: check.boolean('allowHardLinks', false) };
}

function rulesOf(scope: string, options: PathRuleOptions | undefined): PathRules {
  const check = new OptionChecker(scope, options, KNOWN_RULES);
  const rules = readRules(check);
  check.done();
  return rules;
}

function realRulesOf(scope: string, options: RealPathOptions | undefined): RealPathRules {
  const check = new OptionChecker(scope, options, KNOWN_REAL_RULES);
  const rules = readRealRules(check);
  check.done();
  return rules;
}

/**
 * Resolves an untrusted relative path inside `root`, by string rules only (no
 * file-system access, so symlinks are not followed: use `resolveWithinReal`
 * to serve files). Throws `PathTraversalError` (400 `path.traversal`) for
 * NUL bytes, absolute paths, drive letters, UNC paths, backslashes, `..`,
 * encoded sequences, Unicode look-alikes, dotfiles and over-long input.
 *
 * @param root folder the result must stay in; resolved against the working directory
 * @param input the untrusted path, as the framework decoded it
 * @param [options.allowDotfiles=false]
 * @param [options.extensions] allowed extensions of the last segment
 * @param [options.maxLength=1024]
 * @returns the absolute path below `root`
 * @example const file = resolveWithin('/srv/data', req.params.name);
 */
export function resolveWithin(root: string, input: string, options?: PathRuleOptions): string {
  const rules = rulesOf('resolveWithin', options);
  const base = rootOf('resolveWithin', root);
  return joinWithin(base, checkRelative(input, rules));
}

function code(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String(error.code)
    : undefined;
}

/**
 * The refusal for a file-system error met while looking up a target below the
 * root: the input chose the target, so the failure is the input's, never a 500.
 * Errors without an errno code (not from the file system) pass through.
 */
function lookupRefusal(error: unknown): unknown {
  const errno = code(error);
  if (errno === undefined || !errno.startsWith('E')) return error;
  if (errno === 'ENAMETOOLONG') return new PathTraversalError('too_long');
  if (errno === 'ELOOP') return new PathTraversalError('symlink_loop');
  return new PathTraversalError('inaccessible');
}

/**
 * The real path of `target` (already lexically inside `realRoot`). A target
 * that does not exist yet resolves through its deepest existing ancestor, so
 * a path about to be created is checked too.
 */
async function realTarget(realRoot: string, target: string): Promise<string> {
  const missing: string[] = [];
  let current = target;
  for (;;) {
    let real: string;
    try {
      real = await realpath(current);
    } catch (error) {
      const errno = code(error);
      // The root itself failing (removed, unmounted) is the server's fault: let it be a 500.
      if (current === realRoot) throw error;
      if (errno !== 'ENOENT' && errno !== 'ENOTDIR') throw lookupRefusal(error);
      missing.unshift(path.basename(current));
      current = path.dirname(current);
      continue;
    }
    const first = missing[0];
    // realpath failed below here, yet the entry exists: a dangling link, which a
    // later write would follow wherever it points.
    if (first !== undefined && (await lstat(path.join(real, first)).catch(() => null)) !== null) {
      throw new PathTraversalError('dangling_symlink');
    }
    return path.join(real, ...missing);
  }
}

/**
 * Refuses a regular file with more than one hard link. A missing target (a
 * path about to be created) passes; folders always have several links.
 */
async function checkLinks(real: string): Promise<void> {
  let stats;
  try {
    stats = await stat(real);
  } catch (error) {
    if (code(error) === 'ENOENT' || code(error) === 'ENOTDIR') return;
    throw lookupRefusal(error);
  }
  if (stats.isFile() && stats.nlink > 1) throw new PathTraversalError('hard_link');
}

/** `resolveWithinReal` for a root already resolved to its real path. */
export async function resolveRealFrom(
  realRoot: string,
  input: unknown,
  rules: RealPathRules,
): Promise<string> {
  const lexical = joinWithin(realRoot, checkRelative(input, rules));
  const real = await realTarget(realRoot, lexical);
  if (!isInside(realRoot, real)) throw new PathTraversalError('symlink_escape');
  if (!rules.allowHardLinks) await checkLinks(real);
  return real;
}

/**
 * `resolveWithin` plus the file system: resolves the real paths of `root`
 * and of the target, so a symlink inside `root` that points out of it is
 * refused (`symlink_escape`). A target that does not exist yet is resolved
 * through its deepest existing ancestor; a dangling symlink or a symlink loop
 * is refused, and so is a regular file with more than one hard link unless
 * `allowHardLinks` is set. A file-system error met below the root (too long,
 * not a folder, no permission) is a refusal too. Rejects with
 * `PathTraversalError`, or with the file-system error when `root` is missing
 * or unreadable.
 *
 * @param [options.allowHardLinks=false] serve files with more than one hard link
 *
 * @returns the real absolute path below the real `root`
 * @example const file = await resolveWithinReal('/srv/data', req.params.name);
 */
export async function resolveWithinReal(
  root: string,
  input: string,
  options?: RealPathOptions,
): Promise<string> {
  const rules = realRulesOf('resolveWithinReal', options);
  const realRoot = await realpath(rootOf('resolveWithinReal', root));
  return resolveRealFrom(realRoot, input, rules);
}
