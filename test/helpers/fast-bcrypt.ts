import type * as Bcrypt from 'bcryptjs';

type BcryptModule = typeof Bcrypt & { default: typeof Bcrypt };

// The cheapest cost bcrypt has: about a millisecond a hash.
const WORK_COST = '04';
const COST_PREFIX = /^\$(2[aby])\$(\d\d)\$/;

function withCost(hash: string, cost: string): string {
  return hash.replace(COST_PREFIX, (_all, variant: string) => `$${variant}$${cost}$`);
}

/**
 * bcryptjs for tests of code built on passwords (the login router), not of
 * hashing itself: `hash` and `compare` do cost-4 work while every hash keeps
 * naming the cost it was asked for, so the code under test sees the same
 * costs, rehash decisions and dummy compares as with real bcrypt, a few
 * hundred times faster. Only reachable through `vi.mock` in a test file;
 * test/auth/passwords.test.ts checks real bcrypt at real costs.
 *
 * @example vi.mock('bcryptjs', async (real) => (await import('../helpers/fast-bcrypt.js')).fastBcrypt(await real()));
 */
export function fastBcrypt(real: BcryptModule): BcryptModule {
  const hash = async (password: string, cost: number): Promise<string> =>
    withCost(await real.hash(password, Number(WORK_COST)), String(cost).padStart(2, '0'));
  const compare = (password: string, stored: string): Promise<boolean> =>
    real.compare(password, withCost(stored, WORK_COST));
  const fast = { ...real.default, hash, compare } as typeof Bcrypt;
  return { ...real, ...fast, default: fast };
}
