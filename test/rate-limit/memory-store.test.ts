import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Options } from 'express-rate-limit';
import { BoundedMemoryStore } from '../../src/rate-limit/memory-store.js';

function store(maxKeys: number, windowMs = 1000): BoundedMemoryStore {
  const s = new BoundedMemoryStore(maxKeys);
  s.init({ windowMs } as Options);
  return s;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('BoundedMemoryStore', () => {
  it('counts per key within a window and starts again after it', () => {
    vi.useFakeTimers({ now: 0 });
    const s = store(10);
    expect(s.increment('a').totalHits).toBe(1);
    expect(s.increment('a')).toEqual({ totalHits: 2, resetTime: new Date(1000) });
    expect(s.increment('b').totalHits).toBe(1);
    vi.setSystemTime(1000);
    expect(s.get('a')).toBeUndefined();
    expect(s.increment('a')).toEqual({ totalHits: 1, resetTime: new Date(2000) });
  });

  it('never holds more than maxKeys counters, evicting the oldest', () => {
    vi.useFakeTimers({ now: 0 });
    const s = store(3);
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      vi.advanceTimersByTime(1);
      s.increment(key);
    }
    expect(s.size).toBe(3);
    expect(s.get('a')).toBeUndefined();
    expect(s.get('b')).toBeUndefined();
    expect(s.get('e')?.totalHits).toBe(1);
  });

  it('stays bounded under a flood of distinct keys', () => {
    const s = store(1000, 60_000);
    for (let i = 0; i < 50_000; i++) s.increment(`ip:2001:db8:${String(i)}::/56`);
    expect(s.size).toBe(1000);
  });

  it('sweeps expired counters before evicting live ones', () => {
    vi.useFakeTimers({ now: 0 });
    const s = store(3);
    s.increment('old-1');
    s.increment('old-2');
    vi.setSystemTime(500);
    s.increment('live');
    vi.setSystemTime(1200);
    s.increment('new');
    expect(s.size).toBe(2);
    expect(s.get('live')?.totalHits).toBe(1);
  });

  it('decrements, resets a key and resets all', () => {
    const s = store(10);
    s.increment('a');
    s.increment('a');
    s.decrement('a');
    expect(s.get('a')?.totalHits).toBe(1);
    s.decrement('a');
    s.decrement('a');
    expect(s.get('a')?.totalHits).toBe(0);
    s.resetKey('a');
    expect(s.get('a')).toBeUndefined();
    s.increment('b');
    s.resetAll();
    expect(s.size).toBe(0);
  });
});
