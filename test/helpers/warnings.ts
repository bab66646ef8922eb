import { expect, onTestFinished, vi } from 'vitest';

function codeOf(args: unknown[]): string | undefined {
  const [, typeOrOptions, code] = args;
  if (typeof typeOrOptions === 'object' && typeOrOptions !== null) {
    return (typeOrOptions as { code?: string }).code;
  }
  return typeof code === 'string' ? code : undefined;
}

// One-time warnings already seen in this file: bulwark's own record of them
// lives as long as the file's modules do, and so does this one.
const warnedInFile = new Set<string>();

/**
 * Takes the process warnings the current test emits (bulwark's coded
 * one-time warnings, the event bus's listener warnings) instead of letting
 * Node print them, so a test asserts the warning it expects and a passing
 * run prints none. Restored when the test ends.
 *
 * @example
 * const warnings = captureWarnings();
 * await request(app).get('/');
 * expect(warnings.codes()).toEqual(['BULWARK_BODY_NOT_PARSED']);
 */
export function captureWarnings(): {
  /** The `code` of each warning emitted since, in order. */
  codes(): (string | undefined)[];
  /** The message of each warning emitted since, in order. */
  messages(): string[];
  /**
   * Asserts a one-time warning several tests of a file may trigger: `code`
   * alone the first time in the file, nothing after.
   */
  expectOnce(code: string): void;
} {
  const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  onTestFinished(() => {
    spy.mockRestore();
  });
  const calls = (): unknown[][] => spy.mock.calls;
  const codes = (): (string | undefined)[] => calls().map(codeOf);
  return {
    codes,
    messages: () =>
      calls().map(([warning]) => (warning instanceof Error ? warning.message : String(warning))),
    expectOnce(code) {
      expect(codes()).toEqual(warnedInFile.has(code) ? [] : [code]);
      warnedInFile.add(code);
    },
  };
}
