const FIRST = Symbol('bulwark.dictionaryMode.first');
const SECOND = Symbol('bulwark.dictionaryMode.second');

/** The prototypes of objects Node builds through serverClasses(), which share hidden classes already. */
const sharedClassPrototypes = new WeakSet<object>();

/**
 * Records that Node builds objects with `prototype` through serverClasses(),
 * so that useDictionaryMode() leaves them as V8 built them.
 */
export function markSharedClasses(prototype: object): void {
  sharedClassPrototypes.add(prototype);
}

/**
 * Moves `target`'s properties into V8's dictionary mode, with no change a
 * program can see: two private symbol members are added and deleted again.
 *
 * Why, for a request's `req` and `res`: on a server made with `app.listen()`,
 * Express's `Object.setPrototypeOf` gives every request's objects a hidden
 * class of their own, and V8 keeps no transitions from it. Every property
 * added afterwards (by Express's router, each middleware, body parsers, the
 * handler) builds yet another hidden class, and every access to those objects
 * misses V8's inline caches, which are about half the instructions of a
 * request there (docs/performance.md). Objects in dictionary mode share one
 * hidden class per prototype, so the caches hold, and adding a property is a
 * hash-table insert. Deleting a property other than the last one added is
 * what makes V8 switch, hence two.
 *
 * Objects built through serverClasses() share hidden classes already and are
 * left as they are: there the switch measured no gain, and one process of the
 * bench counted 1.7x the instructions with it (bench/README.md, batch 8).
 *
 * A device under the project's rule (bench/README.md, "Devices", batch 8),
 * kept for its measured gain: in `hardened()` on a plain server, the full
 * stack's instructions per request fell by 35% (1.16 to 0.75 million).
 */
export function useDictionaryMode(target: object): void {
  // A frozen or sealed object cannot take the members; it keeps its mode.
  if (!Object.isExtensible(target)) return;
  if (sharedClassPrototypes.has(Object.getPrototypeOf(target) as object)) return;
  const members = target as Record<symbol, unknown>;
  members[FIRST] = undefined;
  members[SECOND] = undefined;
  Reflect.deleteProperty(members, FIRST);
  Reflect.deleteProperty(members, SECOND);
}
