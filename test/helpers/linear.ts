/**
 * How much longer `run` takes on an input `factor` times larger: about
 * `factor` for linear work, `factor²` for quadratic. Sizes alternate and the
 * fastest run of each is kept, so a busy machine inflates neither side much.
 * For code whose work cannot be counted (regular expressions run inside the
 * engine); where reads can be counted, count them instead, as
 * test/redaction/linear.test.ts does.
 *
 * @example expect(growthRatio((n) => 'a@'.repeat(n), redactText, 100_000)).toBeLessThan(8);
 */
export function growthRatio(
  make: (size: number) => string,
  run: (input: string) => unknown,
  size: number,
  { factor = 4, runs = 5 } = {},
): number {
  const small = make(size);
  const large = make(size * factor);
  const best = [Infinity, Infinity];
  for (let i = 0; i < runs; i++) {
    [small, large].forEach((input, which) => {
      const started = performance.now();
      run(input);
      best[which] = Math.min(best[which] ?? Infinity, performance.now() - started);
    });
  }
  const [smallMs = 0, largeMs = 0] = best;
  return largeMs / Math.max(smallMs, 0.01);
}
