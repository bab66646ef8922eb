import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Options } from 'express-rate-limit';
import { BoundedMemoryStore } from '../../src/rate-limit/memory-store.js';
import { captureWarnings } from '../helpers/warnings.js';

const MEMORY_FULL = 'BULWARK_RATE_LIMIT_MEMORY_FULL';

function store(maxKeys: number, windowMs = 1000): BoundedMemoryStore {
  const s = new BoundedMemoryStore(maxKeys);
  s.init({ windowMs } as Options);
  return s;
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
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

  it('never holds more than maxKeys counters, evicting the least recently counted', () => {
    vi.useFakeTimers({ now: 0 });
    const warnings = captureWarnings();
    const s = store(3);
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      vi.advanceTimersByTime(1);
      s.increment(key);
    }
    expect(s.size).toBe(3);
    expect(s.get('a')).toBeUndefined();
    expect(s.get('b')).toBeUndefined();
    expect(s.get('e')?.totalHits).toBe(1);
    warnings.expectOnce(MEMORY_FULL);
  });

  it('keeps the count of a client still sending, however many new keys arrive', () => {
    const warnings = captureWarnings();
    const s = store(100, 60_000);
    for (let i = 0; i < 10_000; i++) {
      s.increment('busy');
      s.increment(`flood:${String(i)}`);
    }
    expect(s.get('busy')?.totalHits).toBe(10_000);
    expect(s.size).toBe(100);
    warnings.expectOnce(MEMORY_FULL);
  });

  it('reading a count does not keep a counter that is no longer counted', () => {
    const warnings = captureWarnings();
    const s = store(2, 60_000);
    s.increment('a');
    s.increment('b');
    expect(s.get('a')?.totalHits).toBe(1);
    s.increment('c');
    expect([s.get('a'), s.get('b')?.totalHits, s.get('c')?.totalHits]).toEqual([undefined, 1, 1]);
    warnings.expectOnce(MEMORY_FULL);
  });

  it('stays bounded under a flood of distinct keys', () => {
    const warnings = captureWarnings();
    const s = store(1000, 60_000);
    for (let i = 0; i < 50_000; i++) s.increment(`ip:2001:db8:${String(i)}::/56`);
    expect(s.size).toBe(1000);
    warnings.expectOnce(MEMORY_FULL);
  });

  it('warns once when it evicts a live counter, never for an expired one', async () => {
    // A fresh module: the warning is once per process, and another test may have used it.
    vi.resetModules();
    const fresh = await import('../../src/rate-limit/memory-store.js');
    const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    vi.useFakeTimers({ now: 0 });
    const s = new fresh.BoundedMemoryStore(2);
    s.init({ windowMs: 1000 } as Options);
    s.increment('old-1');
    s.increment('old-2');
    vi.setSystemTime(1200);
    s.increment('new-1');
    s.increment('new-2');
    expect(warning).not.toHaveBeenCalled();
    s.increment('new-3');
    s.increment('new-4');
    expect(warning.mock.calls.map(([, options]) => options)).toEqual([
      { type: 'BulwarkWarning', code: MEMORY_FULL },
    ]);
  });

  it('restarts an expired counter in place when its key returns', () => {
    vi.useFakeTimers({ now: 0 });
    const s = store(10);
    s.increment('a');
    s.increment('a');
    vi.setSystemTime(1500);
    expect(s.increment('a')).toEqual({ totalHits: 1, resetTime: new Date(2500) });
    expect(s.size).toBe(1);
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
