import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

/** The pages a user reads: README.md, examples/README.md and every page under docs/. */
export function documentationFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => join('docs', name));
  return ['README.md', join('examples', 'README.md'), ...docs];
}

export interface CodeBlock {
  /** Repository-relative path of the page, e.g. `docs/auth.md`. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** First word of the info string (`ts`, `sh`, ...). */
  language: string;
  /** The words after the language, e.g. `runnable`. */
  flags: string[];
  code: string;
  /** Text of the HTML comments right above the fence (`<!-- ... -->`). */
  notes: string[];
}

/** Fenced code blocks of a page, with where they start. */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/.exec(lines[i] ?? '');
    if (open === null) continue;
    const indent = open[1] ?? '';
    const fence = open[2] ?? '```';
    const language = (open[3] ?? '').toLowerCase();
    const flags = (open[4] ?? '').split(/\s+/).filter((word) => word !== '');
    const notes: string[] = [];
    // Comments above the fence, blank lines between them allowed (prettier adds one).
    for (let j = i - 1; j >= 0; j--) {
      if ((lines[j] ?? '').trim() === '') continue;
      const note = /^\s*<!--\s*(.*?)\s*-->\s*$/.exec(lines[j] ?? '');
      if (note === null) break;
      notes.unshift(note[1] ?? '');
    }
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] ?? '';
      if (
        line.trimStart().startsWith(fence[0]!.repeat(fence.length)) &&
        line.trim().replace(/[`~]/g, '') === ''
      )
        break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line);
    }
    blocks.push({ file, line: i + 1, language, flags, code: body.join('\n'), notes });
    i = j;
  }
  return blocks;
}

export function relativeToRoot(path: string): string {
  return relative(ROOT, path);
}
