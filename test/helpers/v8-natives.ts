// V8's natives, for fixtures that runNativesFixture() starts with
// --allow-natives-syntax: importing this module anywhere else is a SyntaxError.
// TypeScript cannot spell V8's `%Name()` syntax; a Function body can.

// eslint-disable-next-line @typescript-eslint/no-implied-eval -- a constant body, the only way to reach the native
export const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (
  a: object,
  b: object,
) => boolean;

// eslint-disable-next-line @typescript-eslint/no-implied-eval -- as above
export const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (
  o: object,
) => boolean;
