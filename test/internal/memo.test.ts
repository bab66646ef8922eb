import { describe, expect, it } from 'vitest';
import { Memo } from '../../src/internal/memo.js';

describe('Memo', () => {
  it('holds at most its limit, dropping the least recently used entry first', () => {
    const memo = new Memo<number>(3);
    for (const [i, key] of ['a', 'b', 'c'].entries()) memo.set(key, i);
    expect(memo.get('a')).toBe(0);
    memo.set('d', 3);
    expect(memo.get('b')).toBeUndefined();
    expect([memo.get('a'), memo.get('c'), memo.get('d')]).toEqual([0, 2, 3]);
  });

  it('remembers null as a value, apart from a key it never held', () => {
    const memo = new Memo<string | null>(2);
    memo.set('unparseable', null);
    expect(memo.get('unparseable')).toBeNull();
    expect(memo.get('unknown')).toBeUndefined();
  });

  it('updates a key it holds without dropping another', () => {
    const memo = new Memo<string>(2);
    memo.set('a', 'first');
    memo.set('b', 'x');
    memo.set('a', 'second');
    expect([memo.get('a'), memo.get('b')]).toEqual(['second', 'x']);
  });

  it('never keeps a key longer than its maximum length', () => {
    const memo = new Memo<boolean>(10, 4);
    memo.set('abcd', true);
    memo.set('abcde', true);
    expect(memo.get('abcd')).toBe(true);
    expect(memo.get('abcde')).toBeUndefined();
  });

  it('stays bounded under a stream of distinct keys, and forgets a deleted one', () => {
    const memo = new Memo<number>(100);
    for (let i = 0; i < 100_000; i++) memo.set(`key-${String(i)}`, i);
    expect(memo.get('key-99899')).toBeUndefined();
    expect(memo.get('key-99999')).toBe(99_999);
    memo.delete('key-99999');
    expect(memo.get('key-99999')).toBeUndefined();
  });
});
