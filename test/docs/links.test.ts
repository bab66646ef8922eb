import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCS_URL, REPOSITORY_URL } from '../../src/internal/docs-url.js';
import { ROOT, documentationFiles } from './markdown.js';

// Every link in README.md and the docs resolves: relative files exist, `#anchors`
// name a heading (slugged as GitHub does), and links into this repository's
// GitHub pages map back to a file here. README.md is also the npm page, where
// relative links break: it links absolutely.
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  repository?: { type?: string; url?: string };
  homepage?: string;
  bugs?: { url?: string };
};
const BLOB = `${REPOSITORY_URL}/blob/main/`;
const TREE = `${REPOSITORY_URL}/tree/main/`;

/**
 * GitHub's anchors: `<a id>`s, and headings lower-cased with markup and
 * punctuation dropped, spaces to `-`, repeats numbered.
 */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    // Explicit anchors: <a id="..."></a>
    if (!fenced)
      for (const match of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) result.add(match[1] ?? '');
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading === null) continue;
    const text = (heading[1] ?? '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(text) ?? 0;
    seen.set(text, count + 1);
    result.add(count === 0 ? text : `${text}-${String(count)}`);
  }
  return result;
}

interface Link {
  file: string;
  line: number;
  target: string;
}

function links(file: string): Link[] {
  const result: Link[] = [];
  let fenced = false;
  readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .forEach((text, index) => {
      if (/^\s*(```|~~~)/.test(text)) fenced = !fenced;
      if (fenced) return;
      const prose = text.replace(/`[^`]*`/g, '');
      for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        result.push({ file, line: index + 1, target: match[1] ?? '' });
      }
      for (const match of prose.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/g)) {
        result.push({ file, line: index + 1, target: match[1] ?? '' });
      }
    });
  return result;
}

/** The repository file and anchor a link points at, or undefined for an outside URL. */
function resolveLink(link: Link): { path: string; anchor: string | undefined } | undefined {
  const [location, anchor] = link.target.split('#', 2) as [string, string | undefined];
  for (const base of [BLOB, TREE]) {
    if (location.startsWith(base)) return { path: location.slice(base.length), anchor };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(location)) return undefined;
  const path = location === '' ? link.file : normalize(join(dirname(link.file), location));
  return { path, anchor };
}

const all = documentationFiles().flatMap(links);

describe('links in README.md and the docs', () => {
  it('finds links', () => {
    expect(all.length).toBeGreaterThan(50);
  });

  it.each(all.map((link) => [`${link.file}:${String(link.line)} ${link.target}`, link] as const))(
    '%s resolves',
    (_name, link) => {
      const target = resolveLink(link);
      if (target === undefined) return;
      expect(target.path.startsWith('..'), 'link leaves the repository').toBe(false);
      expect(existsSync(join(ROOT, target.path)), `${target.path} exists`).toBe(true);
      if (target.anchor !== undefined && target.path.endsWith('.md')) {
        const headings = anchors(readFileSync(join(ROOT, target.path), 'utf8'));
        expect([...headings], `#${target.anchor} in ${target.path}`).toContain(target.anchor);
      }
    },
  );

  it('README.md links absolutely, so its links also work on the npm page', () => {
    const relative = links('README.md').filter(
      (link) => !/^[a-z][a-z0-9+.-]*:/i.test(link.target) && !link.target.startsWith('#'),
    );
    expect(relative).toEqual([]);
  });
});

describe('package metadata', () => {
  it('names the repository once, and the docs links derive from it', () => {
    expect(pkg.repository).toEqual({ type: 'git', url: `git+${REPOSITORY_URL}.git` });
    expect(pkg.homepage).toBe(`${REPOSITORY_URL}#readme`);
    expect(pkg.bugs).toEqual({ url: `${REPOSITORY_URL}/issues` });
    expect(DOCS_URL).toBe(`${REPOSITORY_URL}/blob/main/docs/`);
  });
});
