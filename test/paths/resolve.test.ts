import {
  chmodSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  PathTraversalError,
  resolveWithin,
  resolveWithinReal,
  type PathRefusalReason,
} from '../../src/index.js';
import { checkRelative, isInside, type PathRules } from '../../src/paths/rules.js';
import { LONG_NAMES } from './long-names.js';

const base = realpathSync(mkdtempSync(path.join(tmpdir(), 'bulwark-paths-')));
const root = path.join(base, 'data');
const outside = path.join(base, 'outside');
const evil = path.join(base, 'data-evil');
mkdirSync(path.join(root, 'docs', 'nested'), { recursive: true });
mkdirSync(path.join(root, '.well-known'));
mkdirSync(outside);
mkdirSync(evil);
writeFileSync(path.join(root, 'docs', 'readme.txt'), 'test');
writeFileSync(path.join(root, 'docs', 'nested', 'deep.md'), 'test');
writeFileSync(path.join(root, 'docs', 'page.HTML'), 'test');
writeFileSync(path.join(outside, 'secret.txt'), 'FAKE secret');
writeFileSync(path.join(evil, 'secret.txt'), 'FAKE secret');
// Symlinks inside the root: two escapes, one to the sibling that shares the root's prefix.
symlinkSync(outside, path.join(root, 'escape'));
symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'secret-link.txt'));
symlinkSync(evil, path.join(root, 'sibling'));
symlinkSync(path.join(root, 'docs'), path.join(root, 'inner'));
symlinkSync(path.join(outside, 'missing.txt'), path.join(root, 'dangling.txt'));
symlinkSync(path.join(root, 'loop-b'), path.join(root, 'loop-a'));
symlinkSync(path.join(root, 'loop-a'), path.join(root, 'loop-b'));
// A root that is itself reached through a symlink.
symlinkSync(root, path.join(base, 'root-link'));
// A hard link inside the root to a file outside it: to the file system it is
// the same file as the original, found under two names.
linkSync(path.join(outside, 'secret.txt'), path.join(root, 'hard-link.txt'));

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

function reasonOf(fn: () => unknown): PathRefusalReason | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof PathTraversalError) return error.reason;
    throw error;
  }
  return undefined;
}

async function realReasonOf(promise: Promise<unknown>): Promise<PathRefusalReason | undefined> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PathTraversalError) return error.reason;
    throw error;
  }
  return undefined;
}

describe('over-long names and paths', () => {
  it.each(LONG_NAMES)('refuses a segment of %s, alone and nested', (_case, long) => {
    expect(Buffer.byteLength(long)).toBeGreaterThan(255);
    for (const input of [long, `docs/${long}`, `${long}/readme.txt`]) {
      expect(reasonOf(() => resolveWithin(root, input))).toBe('name_too_long');
    }
  });

  it.each(LONG_NAMES)(
    'refuses a segment of %s before touching the file system',
    async (_c, long) => {
      for (const input of [long, `docs/${long}`, `${long}/readme.txt`]) {
        expect(await realReasonOf(resolveWithinReal(root, input))).toBe('name_too_long');
      }
    },
  );

  it.each(LONG_NAMES)('accepts 255 bytes (%s, one byte shorter)', async (_case, _long, limit) => {
    expect(Buffer.byteLength(limit)).toBeLessThanOrEqual(255);
    expect(resolveWithin(root, `docs/${limit}`)).toBe(path.join(root, 'docs', limit));
    await expect(resolveWithinReal(root, `docs/${limit}`)).resolves.toBe(
      path.join(root, 'docs', limit),
    );
  });

  it('refuses a segment that NFKC grows past 255 bytes', () => {
    // U+FDFA is 3 bytes and becomes 18 characters (33 bytes) under NFKC.
    const input = '\ufdfa'.repeat(10);
    expect(Buffer.byteLength(input)).toBeLessThanOrEqual(255);
    expect(reasonOf(() => resolveWithin(root, input))).toBe('name_too_long');
  });

  it.each([
    ['two-byte characters', 'é'.repeat(100)],
    ['three-byte characters', '€'.repeat(80)],
  ])('refuses a path over 4096 bytes in %s, within maxLength', async (_case, name) => {
    const input = Array.from({ length: 24 }, () => name).join('/');
    expect(input.length).toBeLessThanOrEqual(4096);
    expect(Buffer.byteLength(input)).toBeGreaterThan(4096);
    expect(reasonOf(() => resolveWithin(root, input, { maxLength: 4096 }))).toBe('too_long');
    expect(await realReasonOf(resolveWithinReal(root, input, { maxLength: 4096 }))).toBe(
      'too_long',
    );
  });

  it('maps ENAMETOOLONG of a path the root makes too long to a refusal', async () => {
    // Under 4096 bytes itself, but over PATH_MAX once joined with the root.
    const input = [...Array.from({ length: 16 }, () => 'a'.repeat(250)), 'b'.repeat(79)].join('/');
    expect(Buffer.byteLength(input)).toBe(4095);
    expect(await realReasonOf(resolveWithinReal(root, input, { maxLength: 4096 }))).toBe(
      'too_long',
    );
  });
});

describe('resolveWithin', () => {
  it.each([
    ['docs/readme.txt', 'docs/readme.txt'],
    ['docs/nested/deep.md', 'docs/nested/deep.md'],
    ['docs//nested/deep.md', 'docs/nested/deep.md'],
    ['docs/nested/', 'docs/nested'],
    ['docs/not-yet-there.txt', 'docs/not-yet-there.txt'],
    ['docs/café.txt', 'docs/café.txt'],
    ['docs/ﬁle.txt', 'docs/ﬁle.txt'],
    ['docs/a%b.txt', 'docs/a%b.txt'],
    ['docs/a..b.txt', 'docs/a..b.txt'],
    ['docs/v1.2.3', 'docs/v1.2.3'],
    ['~/x', '~/x'],
  ])('accepts %j', (input, expected) => {
    expect(resolveWithin(root, input)).toBe(path.join(root, expected));
  });

  it.each<[string, unknown, PathRefusalReason]>([
    ['a number', 5, 'invalid_type'],
    ['an array', ['docs', 'readme.txt'], 'invalid_type'],
    ['an empty string', '', 'empty'],
    ['only slashes', '///', 'absolute'],
    ['a NUL byte', 'docs/readme.txt\0.png', 'null_byte'],
    ['a newline', 'docs/read\nme.txt', 'control_character'],
    ['DEL', 'docs/\u007f', 'control_character'],
    ['a C1 control', 'docs/\u0085x', 'control_character'],
    ['a lone surrogate', 'docs/\ud800.txt', 'invalid_unicode'],
    ['a replacement character', 'docs/\ufffd.txt', 'invalid_unicode'],
    ['a full-width dot pair', '．．/etc', 'unicode_lookalike'],
    ['a full-width slash', 'docs／readme.txt', 'unicode_lookalike'],
    ['a two-dot leader', '\u2025/etc', 'unicode_lookalike'],
    ['a division slash', 'docs\u2215readme.txt', 'unicode_lookalike'],
    ['a percent-encoded dot', '%2e%2e/etc', 'encoded'],
    ['an IIS %u sequence', '%u002e%u002e/etc', 'encoded'],
    ['a backslash', 'docs\\readme.txt', 'backslash'],
    ['a POSIX absolute path', '/etc/passwd', 'absolute'],
    ['a drive letter', 'C:/Windows', 'absolute'],
    ['a drive-relative path', 'C:Windows', 'drive_letter'],
    ['a colon (alternate data stream)', 'docs/readme.txt:secret', 'colon'],
    ['a URL scheme', 'file:/etc/passwd', 'colon'],
    ['..', '..', 'dot_segment'],
    ['. alone', '.', 'dot_segment'],
    ['./ prefix', './docs/readme.txt', 'dot_segment'],
    ['...', '.../x', 'dot_segment'],
    ['..; (Tomcat path parameter)', '..;/x', 'dot_segment'],
    ['..x', 'docs/..x', 'dot_segment'],
    ['a trailing dot', 'docs/readme.txt.', 'trailing_dot_or_space'],
    ['a trailing space', 'docs/readme.txt ', 'trailing_dot_or_space'],
    ['.env', '.env', 'dotfile'],
    ['.git/config', '.git/config', 'dotfile'],
    ['a nested dotfile', 'docs/.htpasswd', 'dotfile'],
    ['over 1024 characters', 'a/'.repeat(512) + 'x', 'too_long'],
    ['NFKC growing past the limit', '\ufdfa'.repeat(100), 'too_long'],
  ])('refuses %s', (_case, input, reason) => {
    expect(reasonOf(() => resolveWithin(root, input as string))).toBe(reason);
  });

  it('refuses the sibling-prefix trap', () => {
    expect(reasonOf(() => resolveWithin(root, '../data-evil/secret.txt'))).toBe('dot_segment');
    expect(path.join(root, '../data-evil').startsWith(root)).toBe(true);
  });

  it.each([
    ['/srv/data', '/srv/data-evil/x', false],
    ['/srv/data', '/srv/data-evil', false],
    ['/srv/data', '/srv/data/x', true],
    ['/srv/data', '/srv/data', true],
    ['/srv/data', '/srv/data/..x', true],
    ['/srv/data', '/srv', false],
    ['/srv/data/', '/srv/data/x', true],
  ])('compares by path, not prefix: is %j containing %j? %s', (parent, child, inside) => {
    expect(isInside(parent, child)).toBe(inside);
  });

  it('does not follow symlinks (that is resolveWithinReal)', () => {
    expect(resolveWithin(root, 'escape/secret.txt')).toBe(path.join(root, 'escape/secret.txt'));
  });

  it('resolves a relative root against the working directory', () => {
    expect(resolveWithin('relative-root', 'a.txt')).toBe(path.resolve('relative-root', 'a.txt'));
  });

  describe('options', () => {
    it('allows dotfiles when asked, but never . or ..', () => {
      const options = { allowDotfiles: true };
      expect(resolveWithin(root, '.well-known/security.txt', options)).toBe(
        path.join(root, '.well-known/security.txt'),
      );
      expect(reasonOf(() => resolveWithin(root, '../x', options))).toBe('dot_segment');
      expect(reasonOf(() => resolveWithin(root, './x', options))).toBe('dot_segment');
      expect(reasonOf(() => resolveWithin(root, '．./x', options))).toBe('unicode_lookalike');
    });

    it('restricts extensions, in any case', () => {
      const options = { extensions: ['.txt', '.HTML'] };
      expect(resolveWithin(root, 'docs/readme.TXT', options)).toBe(
        path.join(root, 'docs/readme.TXT'),
      );
      expect(resolveWithin(root, 'docs/page.html', options)).toBe(
        path.join(root, 'docs/page.html'),
      );
      expect(reasonOf(() => resolveWithin(root, 'docs/run.sh', options))).toBe('extension');
      expect(reasonOf(() => resolveWithin(root, 'docs/readme.txt.sh', options))).toBe('extension');
      expect(reasonOf(() => resolveWithin(root, 'docs/readme.txt%00.sh', options))).toBe('encoded');
    });

    it('takes a shorter maxLength', () => {
      expect(reasonOf(() => resolveWithin(root, 'docs/readme.txt', { maxLength: 8 }))).toBe(
        'too_long',
      );
    });

    it.each([
      [{ maxLength: -1 }],
      [{ maxLength: 0 }],
      [{ maxLength: Number.NaN }],
      [{ maxLength: Number.POSITIVE_INFINITY }],
      [{ maxLength: '5' }],
      [{ maxLength: 4097 }],
      [{ maxLength: 1.5 }],
      [{ allowDotfiles: 'yes' }],
      [{ allowDotfiles: null }],
      [{ extensions: '.txt' }],
      [{ extensions: ['txt'] }],
      [{ extensions: [] }],
      [{ extensions: ['.'] }],
      [{ extensions: [{}] }],
      [{ allowDotFiles: true }],
      [null],
      ['strict'],
    ])('refuses the option %j', (options) => {
      expect(() => resolveWithin(root, 'docs/readme.txt', options as never)).toThrow(
        BulwarkConfigError,
      );
    });

    it.each([[''], [5], [null], ['a\0b']])('refuses the root %j', (bad) => {
      expect(() => resolveWithin(bad as string, 'x')).toThrow(BulwarkConfigError);
    });
  });
});

describe('checkRelative with Windows rules', () => {
  const windows: PathRules = {
    allowDotfiles: false,
    extensions: undefined,
    maxLength: 1024,
    windows: true,
  };

  it.each(['CON', 'con.txt', 'docs/NUL', 'aux.c', 'COM1', 'lpt9.log', 'CONIN$'])(
    'refuses the device name %j',
    (input) => {
      expect(reasonOf(() => checkRelative(input, windows))).toBe('reserved_name');
    },
  );

  it('accepts device names elsewhere', () => {
    expect(checkRelative('aux.c', { ...windows, windows: false })).toEqual(['aux.c']);
    expect(checkRelative('docs/console.txt', windows)).toEqual(['docs', 'console.txt']);
  });
});

describe('resolveWithinReal', () => {
  it.each([
    ['docs/readme.txt', 'docs/readme.txt'],
    ['docs/nested/deep.md', 'docs/nested/deep.md'],
    ['inner/readme.txt', 'docs/readme.txt'],
    ['docs/new/dir/file.txt', 'docs/new/dir/file.txt'],
    ['inner/new.txt', 'docs/new.txt'],
    ['docs/readme.txt/below', 'docs/readme.txt/below'],
  ])('resolves %j to its real path', async (input, expected) => {
    await expect(resolveWithinReal(root, input)).resolves.toBe(path.join(root, expected));
  });

  it.each<[string, PathRefusalReason]>([
    ['escape/secret.txt', 'symlink_escape'],
    ['escape', 'symlink_escape'],
    ['escape/new-file.txt', 'symlink_escape'],
    ['secret-link.txt', 'symlink_escape'],
    ['sibling/secret.txt', 'symlink_escape'],
    ['dangling.txt', 'dangling_symlink'],
    ['loop-a/x', 'symlink_loop'],
    ['../outside/secret.txt', 'dot_segment'],
    ['hard-link.txt', 'hard_link'],
  ])('refuses %j', async (input, reason) => {
    expect(await realReasonOf(resolveWithinReal(root, input))).toBe(reason);
  });

  it('serves a hard-linked file only with allowHardLinks', async () => {
    await expect(resolveWithinReal(root, 'hard-link.txt', { allowHardLinks: true })).resolves.toBe(
      path.join(root, 'hard-link.txt'),
    );
    await expect(resolveWithinReal(root, 'docs/readme.txt')).resolves.toBe(
      path.join(root, 'docs/readme.txt'),
    );
  });

  it.each([[{ allowHardLinks: 'true' }], [{ allowHardLinks: 1 }], [{ allowHardlinks: true }]])(
    'refuses the option %j',
    async (options) => {
      await expect(resolveWithinReal(root, 'docs/readme.txt', options as never)).rejects.toThrow(
        BulwarkConfigError,
      );
    },
  );

  it('does not take allowHardLinks where it means nothing (resolveWithin)', () => {
    expect(() => resolveWithin(root, 'x', { allowHardLinks: true } as never)).toThrow(
      BulwarkConfigError,
    );
  });

  // root can read a folder whatever its mode, so this needs an unprivileged user.
  it.skipIf(process.getuid?.() === 0)(
    'maps EACCES below the root to a refusal, not the raw error',
    async () => {
      const locked = path.join(root, 'locked');
      mkdirSync(path.join(locked, 'inner'), { recursive: true });
      chmodSync(locked, 0o000);
      try {
        expect(await realReasonOf(resolveWithinReal(root, 'locked/inner/x.txt'))).toBe(
          'inaccessible',
        );
      } finally {
        chmodSync(locked, 0o755);
      }
    },
  );

  it('resolves a root reached through a symlink to its real path', async () => {
    await expect(resolveWithinReal(path.join(base, 'root-link'), 'docs/readme.txt')).resolves.toBe(
      path.join(root, 'docs/readme.txt'),
    );
  });

  it('rejects with the file-system error when the root is missing', async () => {
    await expect(resolveWithinReal(path.join(base, 'nope'), 'x')).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
