import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig, productionReadiness } from '../../src/index.js';

const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
const rows = doc.split('\n').filter((line) => line.startsWith('| `'));
const cells = (line: string) => line.split('|').map((cell) => cell.trim());

describe('docs/config.md', () => {
  it.each(Object.entries(CONFIG_VARIABLES))('documents %s with its aliases', (name, spec) => {
    const row = rows.find((line) => cells(line)[1] === `\`${name}\``);
    expect(row).toBeDefined();
    expect(cells(row!)[2]).toBe(spec.aliases.map((alias) => `\`${alias}\``).join(', '));
  });

  it('documents every readiness check', () => {
    const checks = productionReadiness(loadConfig({ env: {}, secretsDir: false }));
    for (const { id } of checks) {
      expect(rows.some((line) => cells(line)[1] === `\`${id}\``)).toBe(true);
    }
  });
});
