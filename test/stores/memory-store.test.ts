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

  it('evicts the oldest write past maxEntries and warns once', async () => {
    const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const store = memoryStore({ maxEntries: 3 });
    await store.set('a', '1');
    await store.set('b', '2');
    await store.set('c', '3');
    await store.set('a', '1 again');
    await store.set('d', '4');
    expect(await store.getMany(['a', 'b', 'c', 'd'])).toEqual(['1 again', undefined, '3', '4']);
    await store.set('e', '5');
    expect(await store.get('c')).toBeUndefined();
    const codes = warning.mock.calls.map((call) => JSON.stringify(call[1]));
    expect(codes.filter((c) => c.includes('BULWARK_MEMORY_STORE_EVICTED'))).toHaveLength(1);
  });

  it('drops expired entries before evicting live ones', async () => {
    const clock = fakeClock();
    const store = memoryStore({ maxEntries: 2, now: clock.now });
    await store.set('short', 'x', 10);
    await store.set('keep', 'y');
    clock.advance(20);
    await store.set('new', 'z');
    expect(await store.getMany(['keep', 'new'])).toEqual(['y', 'z']);
  });

  it('never holds more than maxEntries under a flood of distinct keys', async () => {
    const store = memoryStore({ maxEntries: 100 });
    for (let i = 0; i < 5000; i++) await store.set(`k${String(i)}`, 'v', 60_000);
    const all = await store.getMany(Array.from({ length: 5000 }, (_, i) => `k${String(i)}`));
    expect(all.filter((v) => v !== undefined)).toHaveLength(100);
  });

  it.each([
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
