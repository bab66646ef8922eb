import { afterEach, describe, expect, it, vi } from 'vitest';
import { BulwarkConfigError, memoryStore } from '../../src/index.js';
import { authStoreSuite } from './auth-store-suite.js';

function fakeClock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let time = start;
  return {
    now: () => time,
    advance(ms) {
      time += ms;
    },
  };
}

authStoreSuite('memoryStore', () => {
  const clock = fakeClock();
  return Promise.resolve({
    store: memoryStore({ now: clock.now }),
    advance(ms) {
      clock.advance(ms);
      return Promise.resolve();
    },
    shortTtlMs: 1000,
  });
});

describe('memoryStore bounds', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('evicts the least recently used entry past maxKeys and warns once', async () => {
    const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const store = memoryStore({ maxKeys: 3 });
    await store.set('a', '1');
    await store.set('b', '2');
    await store.set('c', '3');
    // A revocation still being checked is used, so a flood of writes passes it by.
    expect(await store.get('a')).toBe('1');
    await store.set('d', '4');
    expect(await store.getMany(['b', 'c', 'd', 'a'])).toEqual([undefined, '3', '4', '1']);
    await store.set('e', '5');
    expect(await store.getMany(['c', 'd', 'a', 'e'])).toEqual([undefined, '4', '1', '5']);
    const codes = warning.mock.calls.map((call) => JSON.stringify(call[1]));
    expect(codes.filter((c) => c.includes('BULWARK_MEMORY_STORE_EVICTED'))).toHaveLength(1);
  });

  it('re-writing a key keeps one entry for it and makes it the most recent', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const store = memoryStore({ maxKeys: 2 });
    await store.set('a', '1');
    await store.set('b', '2');
    await store.set('a', '1 again');
    await store.set('c', '3');
    expect(await store.getMany(['a', 'b', 'c'])).toEqual(['1 again', undefined, '3']);
  });

  it('says nothing when the entry it evicts had already expired', async () => {
    // A fresh module: the warning is once per process, and another test may have used it.
    vi.resetModules();
    const fresh = await import('../../src/stores/memory-store.js');
    const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const clock = fakeClock();
    const store = fresh.memoryStore({ maxKeys: 2, now: clock.now });
    await store.set('short', 'x', 10);
    await store.set('keep', 'y');
    clock.advance(20);
    await store.set('new', 'z');
    expect(await store.getMany(['short', 'keep', 'new'])).toEqual([undefined, 'y', 'z']);
    expect(warning).not.toHaveBeenCalled();
  });

  it('accepts the former name maxEntries for maxKeys', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const store = memoryStore({ maxEntries: 1 });
    await store.set('a', '1');
    await store.set('b', '2');
    expect(await store.getMany(['a', 'b'])).toEqual([undefined, '2']);
  });

  it('refuses maxKeys and maxEntries together', () => {
    expect(() => memoryStore({ maxKeys: 10, maxEntries: 10 })).toThrow(
      /`maxKeys` or its former name `maxEntries`, not both/,
    );
  });

  it('never holds more than maxKeys under a flood of distinct keys', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const store = memoryStore({ maxKeys: 100 });
    for (let i = 0; i < 5000; i++) await store.set(`k${String(i)}`, 'v', 60_000);
    const all = await store.getMany(Array.from({ length: 5000 }, (_, i) => `k${String(i)}`));
    expect(all.filter((v) => v !== undefined)).toHaveLength(100);
  });

  it.each([
    [{ maxKeys: -1 }],
    [{ maxKeys: 0 }],
    [{ maxKeys: Number.NaN }],
    [{ maxKeys: Infinity }],
    [{ maxKeys: '5' }],
    [{ maxKeys: 1.5 }],
    [{ maxEntries: -1 }],
    [{ maxEntries: 0 }],
    [{ maxEntries: Number.NaN }],
    [{ maxEntries: Infinity }],
    [{ maxEntries: '5' }],
    [{ maxEntries: null }],
    [{ maxEntries: {} }],
    [{ maxEntries: 1.5 }],
    [{ now: 5 }],
    [{ maxEntry: 5 }],
    ['options'],
  ])('refuses %j', (options) => {
    expect(() => memoryStore(options as never)).toThrow(BulwarkConfigError);
  });
});
