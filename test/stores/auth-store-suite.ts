import { describe, expect, it } from 'vitest';
import type { AuthStore } from '../../src/index.js';

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

    it('rotates a refresh token exactly once, then detects reuse', async () => {
      const { store } = await makeHarness();
      await store.createRefreshFamily(
        { familyKey: 'f1', data: 'family-data', ttlMs: 60_000 },
        { tokenKey: 't1', ttlMs: 60_000 },
      );
      expect(await store.rotateRefreshToken('t1', { tokenKey: 't2', ttlMs: 60_000 })).toEqual({
        status: 'rotated',
        family: 'family-data',
      });
      expect(await store.rotateRefreshToken('t1', { tokenKey: 't3', ttlMs: 60_000 })).toEqual({
        status: 'reused',
        family: 'family-data',
      });
      // The successor of the spent token dies with its family.
      expect(await store.rotateRefreshToken('t2', { tokenKey: 't4', ttlMs: 60_000 })).toEqual({
        status: 'revoked',
        family: 'family-data',
      });
      expect(await store.rotateRefreshToken('t3', { tokenKey: 't5', ttlMs: 60_000 })).toEqual({
        status: 'unknown',
      });
    });

    it('lets exactly one of 20 concurrent rotations of one token win', async () => {
      const { store } = await makeHarness();
      await store.createRefreshFamily(
        { familyKey: 'fc', data: 'd', ttlMs: 60_000 },
        { tokenKey: 'tc', ttlMs: 60_000 },
      );
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.rotateRefreshToken('tc', { tokenKey: `tc-${String(i)}`, ttlMs: 60_000 }),
        ),
      );
      expect(results.filter((r) => r.status === 'rotated')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'reused')).toHaveLength(19);
    });

    it('revokes a family through any of its tokens', async () => {
      const { store } = await makeHarness();
      await store.createRefreshFamily(
        { familyKey: 'fr', data: 'rd', ttlMs: 60_000 },
        { tokenKey: 'tr1', ttlMs: 60_000 },
      );
      await store.rotateRefreshToken('tr1', { tokenKey: 'tr2', ttlMs: 60_000 });
      expect(await store.revokeRefreshFamily('tr1')).toBe('rd');
      expect(
        (await store.rotateRefreshToken('tr2', { tokenKey: 'tr3', ttlMs: 60_000 })).status,
      ).toBe('revoked');
      expect(await store.revokeRefreshFamily('unknown')).toBeUndefined();
    });

    it('ends a family at its absolute lifetime, whatever its tokens say', async () => {
      const { store, advance, shortTtlMs } = await makeHarness();
      await store.createRefreshFamily(
        { familyKey: 'fe', data: 'ed', ttlMs: shortTtlMs },
        { tokenKey: 'te1', ttlMs: 60_000 },
      );
      expect(
        (await store.rotateRefreshToken('te1', { tokenKey: 'te2', ttlMs: 60_000 })).status,
      ).toBe('rotated');
      await advance(shortTtlMs * 2);
      expect(await store.rotateRefreshToken('te2', { tokenKey: 'te3', ttlMs: 60_000 })).toEqual({
        status: 'unknown',
      });
    });

    it('expires a refresh token after its own lifetime', async () => {
      const { store, advance, shortTtlMs } = await makeHarness();
      await store.createRefreshFamily(
        { familyKey: 'ft', data: 'td', ttlMs: 60_000 },
        { tokenKey: 'tt1', ttlMs: shortTtlMs },
      );
      await advance(shortTtlMs * 2);
      expect(
        (await store.rotateRefreshToken('tt1', { tokenKey: 'tt2', ttlMs: 60_000 })).status,
      ).toBe('unknown');
    });
  });
}
