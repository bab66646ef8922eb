import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, SECURITY_EVENT_TYPES } from '../../src/index.js';

const doc = readFileSync(new URL('../../docs/error-codes.md', import.meta.url), 'utf8');

describe('docs/error-codes.md', () => {
  it.each(Object.entries(ERROR_CATALOG))('documents %s with its status', (code, { status }) => {
    const row = doc.split('\n').find((line) => line.includes(`<a id="${code}"></a>`));
    expect(row?.split('|').map((cell) => cell.trim())[2]).toBe(String(status));
  });

  it('documents no code the catalog lacks', () => {
    const codes = doc.split('## Warnings')[0] ?? '';
    const documented = [...codes.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]);
    expect(documented.filter((code) => !Object.hasOwn(ERROR_CATALOG, code ?? ''))).toEqual([]);
    expect(documented).toHaveLength(Object.keys(ERROR_CATALOG).length);
  });
});

const eventsDoc = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');

describe('docs/events.md', () => {
  it.each(SECURITY_EVENT_TYPES)('lists the event type %s', (type) => {
    expect(eventsDoc).toContain(`\`${type}\``);
  });
});
