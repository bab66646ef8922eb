import { setTimeout as delay } from 'node:timers/promises';

export interface PollOptions {
  /** Give up after this many ms. @default 10_000 */
  timeoutMs?: number;
  /** Pause between checks in ms. @default 50 */
  intervalMs?: number;
}

/**
 * Resolves once `condition` holds, else throws naming `what`. Only for the
 * fixtures the bench scripts also start (PrivateRedis, RedisClusterFixture),
 * which run outside Vitest where `vi.waitUntil` cannot; test files wait with
 * `vi.waitUntil` / `vi.waitFor`, which also drive fake timers.
 */
export async function pollUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 50 }: PollOptions = {},
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) {
      throw new Error(`${what}: not reached within ${String(timeoutMs)} ms`);
    }
    await delay(intervalMs);
  }
}
