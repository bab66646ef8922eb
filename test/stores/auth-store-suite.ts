import { describe, expect, it } from 'vitest';
import type { AuthStore, RefreshFamilyRef } from '../../src/index.js';

/** A family's keys as the token service names them: one hash tag for all. */
function ref(id: string): RefreshFamilyRef {
  return { familyKey: `rf:{${id}}`, revokedKey: `rs:{${id}}`, revokedTtlMs: 60_000 };
}

export interface StoreHarness {
  store: AuthStore;
  /** Lets `ms` of store time pass: a fake clock for memory, a real wait for Redis. */
  advance: (ms: number) => Promise<void>;
  /** A lifetime short enough to wait out, long enough not to lapse during a step. */
  shortTtlMs: number;
}

/** The behaviour every `AuthStore` must share; run once per implementation. */
export function authStoreSuite(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`${name}: AuthStore contract`, () => {
    it('gets what was set, and nothing for unknown keys', async () => {
      const { store } = await makeHarness();
      await store.set('a', 'one');
      expect(await store.get('a')).toBe('one');
      expect(await store.get('missing')).toBeUndefined();
      await store.set('a', 'two', 60_000);
      expect(await store.get('a')).toBe('two');
    });

    it('reads many keys in order in one call', async () => {
      const { store } = await makeHarness();
      await store.set('x', '1');
      await store.set('z', '3');
      expect(await store.getMany(['x', 'y', 'z'])).toEqual(['1', undefined, '3']);
      expect(await store.getMany([])).toEqual([]);
    });

    it('expires values after their lifetime', async () => {
      const { store, advance, shortTtlMs } = await makeHarness();
      await store.set('t', 'v', shortTtlMs);
      await store.set('forever', 'v');
      expect(await store.get('t')).toBe('v');
      await advance(shortTtlMs * 2);
      expect(await store.get('t')).toBeUndefined();
      expect(await store.getMany(['t', 'forever'])).toEqual([undefined, 'v']);
      expect(await store.setIfAbsent('t', 'again', shortTtlMs)).toBe(true);
    });

    it('sets only when absent', async () => {
      const { store } = await makeHarness();
      expect(await store.setIfAbsent('n', 'first', 60_000)).toBe(true);
      expect(await store.setIfAbsent('n', 'second', 60_000)).toBe(false);
      expect(await store.get('n')).toBe('first');
    });

    it('replaces only the expected value', async () => {
      const { store } = await makeHarness();
      await store.set('c', 'v1');
      expect(await store.replace('c', 'other', 'v2')).toBe(false);
      expect(await store.replace('c', 'v1', 'v2', 60_000)).toBe(true);
      expect(await store.get('c')).toBe('v2');
      expect(await store.replace('absent', 'v1', 'v2')).toBe(false);
      expect(await store.get('absent')).toBeUndefined();
    });

    it('deletes and says whether the key existed', async () => {
      const { store } = await makeHarness();
      await store.set('d', 'v');
      expect(await store.delete('d')).toBe(true);
      expect(await store.delete('d')).toBe(false);
      expect(await store.get('d')).toBeUndefined();
    });

    it('keeps member sets', async () => {
      const { store } = await makeHarness();
      await store.addMember('s', 'a');
      await store.addMember('s', 'b');
      await store.addMember('s', 'a');
      expect((await store.members('s')).sort()).toEqual(['a', 'b']);
      await store.removeMember('s', 'a');
      expect(await store.members('s')).toEqual(['b']);
      expect(await store.members('none')).toEqual([]);
    });

    it('rotates a refresh token exactly once, then detects reuse and marks the family', async () => {
      const { store } = await makeHarness();
      const family = ref('f1');
      await store.createRefreshFamily(
        { familyKey: family.familyKey, data: 'family-data', ttlMs: 60_000 },
        { tokenKey: 't1', ttlMs: 60_000 },
      );
      expect(
        await store.rotateRefreshToken(family, 't1', { tokenKey: 't2', ttlMs: 60_000 }),
      ).toEqual({
        status: 'rotated',
        family: 'family-data',
      });
      expect(await store.get(family.revokedKey)).toBeUndefined();
      expect(
        await store.rotateRefreshToken(family, 't1', { tokenKey: 't3', ttlMs: 60_000 }),
      ).toEqual({
        status: 'reused',
        family: 'family-data',
      });
      // Reuse leaves the mark a request's revocation check reads with its other keys.
      expect(await store.getMany([family.revokedKey, 'other'])).toEqual(['1', undefined]);
      // The successor of the spent token dies with its family.
      expect(
        await store.rotateRefreshToken(family, 't2', { tokenKey: 't4', ttlMs: 60_000 }),
      ).toEqual({
        status: 'revoked',
        family: 'family-data',
      });
      expect(
        await store.rotateRefreshToken(family, 't3', { tokenKey: 't5', ttlMs: 60_000 }),
      ).toEqual({
        status: 'unknown',
      });
    });

    it('lets exactly one of 20 concurrent rotations of one token win', async () => {
      const { store } = await makeHarness();
      const family = ref('fc');
      await store.createRefreshFamily(
        { familyKey: family.familyKey, data: 'd', ttlMs: 60_000 },
        { tokenKey: 'tc', ttlMs: 60_000 },
      );
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.rotateRefreshToken(family, 'tc', { tokenKey: `tc-${String(i)}`, ttlMs: 60_000 }),
        ),
      );
      expect(results.filter((r) => r.status === 'rotated')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'reused')).toHaveLength(19);
      expect(await store.get(family.revokedKey)).toBe('1');
    });

    it('revokes a family and marks it in one step, leaving other families alone', async () => {
      const { store } = await makeHarness();
      const family = ref('fr');
      const other = ref('fo');
      await store.createRefreshFamily(
        { familyKey: family.familyKey, data: 'rd', ttlMs: 60_000 },
        { tokenKey: 'tr1', ttlMs: 60_000 },
      );
      await store.createRefreshFamily(
        { familyKey: other.familyKey, data: 'od', ttlMs: 60_000 },
        { tokenKey: 'to1', ttlMs: 60_000 },
      );
      await store.rotateRefreshToken(family, 'tr1', { tokenKey: 'tr2', ttlMs: 60_000 });
      expect(await store.revokeRefreshFamily(family)).toBe('rd');
      expect(await store.getMany([family.revokedKey, other.revokedKey])).toEqual(['1', undefined]);
      expect(
        (await store.rotateRefreshToken(family, 'tr2', { tokenKey: 'tr3', ttlMs: 60_000 })).status,
      ).toBe('revoked');
      expect(
        (await store.rotateRefreshToken(other, 'to1', { tokenKey: 'to2', ttlMs: 60_000 })).status,
      ).toBe('rotated');
    });

    it('marks an unknown or ended family as revoked all the same', async () => {
      const { store } = await makeHarness();
      const family = ref('gone');
      expect(await store.revokeRefreshFamily(family)).toBeUndefined();
      expect(await store.get(family.revokedKey)).toBe('1');
    });

    it('refuses a token named with a family it does not belong to', async () => {
      const { store } = await makeHarness();
      const mine = ref('fm');
      const theirs = ref('ft');
      await store.createRefreshFamily(
        { familyKey: mine.familyKey, data: 'md', ttlMs: 60_000 },
        { tokenKey: 'tm1', ttlMs: 60_000 },
      );
      await store.createRefreshFamily(
        { familyKey: theirs.familyKey, data: 'td', ttlMs: 60_000 },
        { tokenKey: 'tt1', ttlMs: 60_000 },
      );
      expect(
        await store.rotateRefreshToken(theirs, 'tm1', { tokenKey: 'x', ttlMs: 60_000 }),
      ).toEqual({
        status: 'unknown',
      });
      // Neither family was touched: both tokens still rotate.
      expect(
        (await store.rotateRefreshToken(mine, 'tm1', { tokenKey: 'tm2', ttlMs: 60_000 })).status,
      ).toBe('rotated');
      expect(
        (await store.rotateRefreshToken(theirs, 'tt1', { tokenKey: 'tt2', ttlMs: 60_000 })).status,
      ).toBe('rotated');
      expect(await store.getMany([mine.revokedKey, theirs.revokedKey])).toEqual([
        undefined,
        undefined,
      ]);
    });

    it('keeps the revoked mark for its own lifetime', async () => {
      const { store, advance, shortTtlMs } = await makeHarness();
      const family = { ...ref('fl'), revokedTtlMs: shortTtlMs };
      await store.createRefreshFamily(
        { familyKey: family.familyKey, data: 'ld', ttlMs: 60_000 },
        { tokenKey: 'tl1', ttlMs: 60_000 },
      );
      await store.revokeRefreshFamily(family);
      expect(await store.get(family.revokedKey)).toBe('1');
      await advance(shortTtlMs * 2);
      expect(await store.get(family.revokedKey)).toBeUndefined();
      // The family itself stays revoked until it ends.
      expect(
        (await store.rotateRefreshToken(family, 'tl1', { tokenKey: 'tl2', ttlMs: 60_000 })).status,
      ).toBe('revoked');
    });

    it('ends a family at its absolute lifetime, whatever its tokens say', async () => {
      const { store, advance, shortTtlMs } = await makeHarness();
      const family = ref('fe');
      await store.createRefreshFamily(
        { familyKey: family.familyKey, data: 'ed', ttlMs: shortTtlMs },
        { tokenKey: 'te1', ttlMs: 60_000 },
      );
      expect(
        (await store.rotateRefreshToken(family, 'te1', { tokenKey: 'te2', ttlMs: 60_000 })).status,
      ).toBe('rotated');
      await advance(shortTtlMs * 2);
      expect(
        await store.rotateRefreshToken(family, 'te2', { tokenKey: 'te3', ttlMs: 60_000 }),
      ).toEqual({
        status: 'unknown',
      });
    });

    it('expires a refresh token after its own lifetime', async () => {
      const { store, advance, shortTtlMs } = await makeHarness();
      const family = ref('ft');
      await store.createRefreshFamily(
        { familyKey: family.familyKey, data: 'td', ttlMs: 60_000 },
        { tokenKey: 'tt1', ttlMs: shortTtlMs },
      );
      await advance(shortTtlMs * 2);
      expect(
        (await store.rotateRefreshToken(family, 'tt1', { tokenKey: 'tt2', ttlMs: 60_000 })).status,
      ).toBe('unknown');
    });
  });
}
