import { describe, expect, it } from 'vitest';
import { useDictionaryMode } from '../../src/internal/dictionary-mode.js';
import { runNativesFixture } from '../helpers/natives.js';

// What V8 does with a request's objects behind hardened() is checked in
// test/preset/dictionary-mode.test.ts; here, that nothing a program can see
// changes, and which objects are switched.
describe('useDictionaryMode', () => {
  it('leaves the same members, values, order and prototype', () => {
    const proto = { inherited: true };
    const hidden = Symbol('hidden');
    const target = Object.assign(Object.create(proto) as Record<string | symbol, unknown>, {
      b: 1,
      a: 'two',
      [hidden]: 3,
    });
    Object.defineProperty(target, 'fixed', { value: 4, enumerable: false });
    const before = Reflect.ownKeys(target).map((key) => [
      key,
      Object.getOwnPropertyDescriptor(target, key),
    ]);

    useDictionaryMode(target);

    expect(
      Reflect.ownKeys(target).map((key) => [key, Object.getOwnPropertyDescriptor(target, key)]),
    ).toEqual(before);
    expect(Object.keys(target)).toEqual(['b', 'a']);
    expect(Object.getPrototypeOf(target)).toBe(proto);
    expect(Object.isExtensible(target)).toBe(true);
  });

  it.each([
    ['frozen', Object.freeze],
    ['sealed', Object.seal],
    ['not extensible', Object.preventExtensions],
  ])('leaves a %s object as it is, without throwing', (_name, lock) => {
    const target = lock({ kept: 1 });
    expect(() => {
      useDictionaryMode(target);
    }).not.toThrow();
    expect(Reflect.ownKeys(target)).toEqual(['kept']);
  });

  it('switches an object, and leaves one whose prototype serverClasses() was given', async () => {
    expect(await runNativesFixture(import.meta.url, './fixtures/dictionary-mode.ts')).toEqual({
      marked: true,
      served: true,
      unmarked: false,
    });
  }, 60_000);
});
