/**
 * Gives `target` an own, enumerable, writable data member where a plain
 * assignment would do something else: on `__proto__` it would set the
 * prototype, and over an inherited accessor (Express 5's `req.query`) it would
 * run the setter.
 */
export function defineOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    writable: true,
    configurable: true,
    enumerable: true,
  });
}
