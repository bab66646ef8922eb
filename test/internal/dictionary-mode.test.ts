import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useDictionaryMode } from '../../src/internal/dictionary-mode.js';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('./fixtures/dictionary-mode.ts', import.meta.url));

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
    // V8's own answer, from a child process with natives syntax on.
    const { stdout } = await run(
      process.execPath,
      ['--allow-natives-syntax', '--import', 'tsx', FIXTURE],
      { timeout: 60_000 },
    );
    expect(JSON.parse(stdout)).toEqual({ marked: true, served: true, unmarked: false });
  }, 60_000);
});
