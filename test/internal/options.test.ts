import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  bodyLimits,
  corsPolicy,
  loginRateLimit,
  rateLimit,
  securityHeaders,
} from '../../src/index.js';
import { DOCS_URL } from '../../src/internal/docs-url.js';
import { OptionChecker } from '../../src/internal/options.js';

// Names users bring from express-rate-limit, helmet, express.json and cors get
// the bulwark name and a link, not a bare "unknown option".
function problemsOf(make: () => unknown): string[] {
  try {
    make();
  } catch (error) {
    if (error instanceof BulwarkConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('no BulwarkConfigError');
}

describe('migration hints for other libraries option names', () => {
  it.each([
    ['rateLimit', () => rateLimit({ max: 10 } as never), 'max', /Did you mean `limit`\?/],
    ['rateLimit', () => rateLimit({ keyGenerator: () => 'k' } as never), 'keyGenerator', /`keyBy`/],
    [
      'rateLimit',
      () => rateLimit({ message: 'slow down' } as never),
      'message',
      /errorHandler\(\)/,
    ],
    [
      'rateLimit',
      () => rateLimit({ handler: () => undefined } as never),
      'handler',
      /errorHandler\(\)/,
    ],
    ['rateLimit', () => rateLimit({ statusCode: 503 } as never), 'statusCode', /429/],
    ['loginRateLimit', () => loginRateLimit({ max: 5 } as never), 'max', /`limit`/],
    [
      'securityHeaders',
      () => securityHeaders({ hsts: { maxAge: 1 } } as never),
      'hsts',
      /`hstsMaxAge`/,
    ],
    ['bodyLimits', () => bodyLimits({ limit: '100kb' } as never), 'limit', /`maxBytes`/],
    [
      'corsPolicy',
      () => corsPolicy({ origin: 'https://a.example' } as never),
      'origin',
      /`origins`/,
    ],
  ])('%s: `%s` names the bulwark option and links its docs', (_scope, make, key, hint) => {
    const problems = problemsOf(make);
    const problem = problems.find((p) => p.startsWith(`unknown option \`${key}\``));
    expect(problem).toMatch(hint);
    expect(problem).toContain(DOCS_URL);
  });

  it('leaves keys that only look like table entries alone', () => {
    const problems = problemsOf(() => rateLimit({ constructor: 1, toString: 2 } as never));
    expect(problems).toEqual(['unknown option `constructor`.', 'unknown option `toString`.']);
  });
});

describe('OptionChecker.done(required)', () => {
  interface Options {
    name?: string;
    size?: number;
  }
  const known = { name: true, size: true } as const;

  it('returns the required values once every problem is clear', () => {
    const check = new OptionChecker<Options>('factory', { name: 'a', size: 2 }, known);
    const name = check.string('name', undefined);
    const size = check.number('size', { min: 1, default: undefined });
    expect(check.done({ name, size })).toEqual({ name: 'a', size: 2 });
  });

  it('throws the recorded problems before looking at the required values', () => {
    const check = new OptionChecker<Options>('factory', {}, known);
    const name = check.string('name', undefined);
    if (name === undefined) check.problem('`name` is required');
    expect(() => check.done({ name })).toThrow(BulwarkConfigError);
  });

  it('refuses a missing value no problem was recorded for, as a bug in the factory', () => {
    const check = new OptionChecker<Options>('factory', {}, known);
    const name = check.string('name', undefined);
    let thrown: unknown;
    try {
      check.done({ name });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).not.toBeInstanceOf(BulwarkConfigError);
    expect((thrown as Error).message).toBe(
      'factory: `name` is missing but no problem was recorded for it',
    );
  });
});
