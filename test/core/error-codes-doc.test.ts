import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '../../src/index.js';

const doc = readFileSync(new URL('../../docs/error-codes.md', import.meta.url), 'utf8');

describe('docs/error-codes.md', () => {
  it.each(Object.entries(ERROR_CATALOG))('documents %s with its status', (code, { status }) => {
    expect(doc).toContain(`| <a id="${code}"></a>\`${code}\` | ${String(status)} |`);
  });
});
