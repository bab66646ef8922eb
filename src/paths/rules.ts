import path from 'node:path';
import { BulwarkError } from '../errors.js';

/** Why a path was refused; carried by `PathTraversalError` and the `path.traversal_blocked` event. */
export type PathRefusalReason =
  | 'invalid_type'
  | 'empty'
  | 'too_long'
  | 'name_too_long'
  | 'null_byte'
  | 'control_character'
  | 'invalid_unicode'
  | 'unicode_lookalike'
  | 'encoded'
  | 'backslash'
  | 'absolute'
  | 'drive_letter'
  | 'colon'
  | 'dot_segment'
  | 'trailing_dot_or_space'
  | 'reserved_name'
  | 'dotfile'
  | 'extension'
  | 'outside_root'
  | 'symlink_escape'
  | 'dangling_symlink'
  | 'symlink_loop'
  | 'hard_link'
  | 'inaccessible'
  | 'missing';

/** A refused path: a 400 `path.traversal` problem whose `reason` says which rule refused it. */
export class PathTraversalError extends BulwarkError {
  /** Which rule refused the path; never sent to the client. */
  readonly reason: PathRefusalReason;

  constructor(reason: PathRefusalReason) {
    super('path.traversal', { detail: 'The requested path is not allowed.' });
    this.reason = reason;
  }
}

/** Rules shared by `resolveWithin`, `resolveWithinReal` and `pathGuard`. */
export interface PathRuleOptions {
  /** Allow segments that start with a dot (`.well-known`); `.` and `..` stay refused. @default false */
  allowDotfiles?: boolean;
  /** Allowed file extensions of the last segment, with the dot (`['.txt', '.md']`), any case. @default any */
  extensions?: readonly string[];
  /** Longest input accepted, in UTF-16 code units, before and after NFKC. @default 1024 */
  maxLength?: number;
}

export interface PathRules {
  readonly allowDotfiles: boolean;
  readonly extensions: readonly string[] | undefined;
  readonly maxLength: number;
  /** Also refuse Windows device names (`CON`, `aux.txt`); on by default only on Windows. */
  readonly windows: boolean;
}

export const DEFAULT_MAX_LENGTH = 1024;
export const MAX_MAX_LENGTH = 4096;
/** Longest segment in UTF-8 bytes: `NAME_MAX` on Linux, macOS and the BSDs, and NTFS's 255 units. */
export const MAX_NAME_BYTES = 255;
/** Longest input in UTF-8 bytes: Linux `PATH_MAX`; the kernel refuses longer paths outright. */
export const MAX_PATH_BYTES = 4096;

// C0 and C1 controls: never part of a real file name; newlines forge log lines.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0001-\u001f\u007f-\u009f]/;
// Lone surrogates, and U+FFFD: what a lenient decoder (Node's querystring) leaves
// of invalid UTF-8 such as overlong `%c0%ae`; such a name cannot round-trip.
const BAD_UNICODE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\uFFFD/;
// `%2e`, and IIS-style `%u002e`: a sequence still encoded after the framework's one decode.
const ENCODED = /%(?:[0-9A-Fa-f]{2}|[uU][0-9A-Fa-f]{4})/;
// Slash and backslash look-alikes that NFKC leaves alone (division slash, fraction
// slash, big solidus, set minus, reverse solidus operator).
const LOOKALIKE = /[\u2215\u2044\u29F8\u29F9\u29F5]/;
const STRUCTURAL = /[^/\\.%:]/g;
const DRIVE = /^[A-Za-z]:/;
const DOTS_AND_SPACES = /^[. ]+$/;
// Windows device names, which name a device in every folder.
const RESERVED = /^(?:con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])(?:\..*)?$/i;

function refuse(reason: PathRefusalReason): never {
  throw new PathTraversalError(reason);
}

/**
 * Checks an untrusted relative path and returns its segments. The rules follow
 * pillarjs/resolve-path: refuse NUL, absolute paths in POSIX and win32 form,
 * and up-paths, before any join with the root; then add what that library
 * leaves to the caller (encodings, Unicode look-alikes, dotfiles, Windows
 * aliases). Every rule is checked on the input and on its NFKC form, so a
 * later normalisation cannot turn an accepted name into a separator or `..`.
 */
export function checkRelative(input: unknown, rules: PathRules): string[] {
  if (typeof input !== 'string') return refuse('invalid_type');
  if (input === '') return refuse('empty');
  if (input.length > rules.maxLength) return refuse('too_long');
  if (input.includes('\0')) return refuse('null_byte');
  if (CONTROL.test(input)) return refuse('control_character');
  if (BAD_UNICODE.test(input)) return refuse('invalid_unicode');
  const folded = input.normalize('NFKC');
  if (folded.length > rules.maxLength) return refuse('too_long');
  // File systems count bytes, not characters: 1024 three-byte characters fit
  // `maxLength` yet make 3072 bytes, and NFKC can grow them further.
  if (Buffer.byteLength(input) > MAX_PATH_BYTES || Buffer.byteLength(folded) > MAX_PATH_BYTES) {
    return refuse('too_long');
  }
  if (LOOKALIKE.test(folded)) return refuse('unicode_lookalike');
  if (folded.replace(STRUCTURAL, '') !== input.replace(STRUCTURAL, '')) {
    return refuse('unicode_lookalike');
  }
  if (ENCODED.test(folded)) return refuse('encoded');
  if (folded.includes('\\')) return refuse('backslash');
  if (path.posix.isAbsolute(input) || path.win32.isAbsolute(input)) return refuse('absolute');
  if (DRIVE.test(input)) return refuse('drive_letter');
  if (input.includes(':')) return refuse('colon');

  const segments = input.split('/').filter((segment) => segment !== '');
  const foldedSegments = folded.split('/').filter((segment) => segment !== '');
  for (const [index, segment] of segments.entries()) {
    const foldedSegment = foldedSegments[index] ?? segment;
    for (const name of [segment, foldedSegment]) {
      // Checked here, before any file-system call, so `ENAMETOOLONG` never reaches the caller.
      if (Buffer.byteLength(name) > MAX_NAME_BYTES) return refuse('name_too_long');
      if (DOTS_AND_SPACES.test(name) || name.startsWith('..')) return refuse('dot_segment');
      if (name.endsWith('.') || name.endsWith(' ')) return refuse('trailing_dot_or_space');
      if (rules.windows && RESERVED.test(name)) return refuse('reserved_name');
      if (!rules.allowDotfiles && name.startsWith('.')) return refuse('dotfile');
    }
  }
  const last = (foldedSegments.at(-1) ?? '').toLowerCase();
  if (rules.extensions !== undefined && !rules.extensions.some((ext) => last.endsWith(ext))) {
    return refuse('extension');
  }
  return segments;
}

/** True when `target` is `root` or below it; `path.relative` avoids the sibling-prefix trap. */
export function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

/** Joins checked segments with an absolute root and re-checks containment. */
export function joinWithin(root: string, segments: readonly string[]): string {
  const target = path.join(root, ...segments);
  if (target === root || !isInside(root, target)) return refuse('outside_root');
  return target;
}
