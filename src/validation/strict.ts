import { $ZodNever, $ZodObject, _never, util, type $ZodType } from 'zod/v4/core';

type Def = Record<string, unknown>;

// Members of a zod 4 definition that hold one child schema, or a list of them.
const CHILD = ['innerType', 'element', 'keyType', 'valueType', 'rest', 'in', 'out'] as const;
const CHILDREN = ['options', 'items'] as const;

/** A copy of `node` whose definition has `changes` over its own (getters kept as getters). */
function cloneWith(node: $ZodType, def: Def, changes: Def): $ZodType {
  const merged: unknown = util.mergeDefs(def, changes);
  return util.clone(node, merged as $ZodType['_zod']['def']);
}

function isSchema(value: unknown): value is $ZodType {
  return typeof value === 'object' && value !== null && '_zod' in value;
}

/**
 * Whether an object schema is in zod's default mode: no catchall chosen. An
 * explicit `.strip()` also leaves `catchall` undefined, but as an own member
 * of the definition, which tells it apart from never having been set.
 */
function isDefaultMode(def: Def): boolean {
  return !Object.hasOwn(def, 'catchall');
}

/**
 * Makes every object in `schema` strict (an unknown key is an issue, not
 * silently dropped), at any depth: inside objects, arrays, tuples, records,
 * maps, sets, unions, optional/nullable/default wrappers, pipes, lazy schemas
 * and the members of intersections. Objects that chose a mode keep it:
 * `z.looseObject`, `.passthrough()`, `.loose()`, `.catchall()`, an explicit
 * `.strip()` and `z.strictObject`. The two sides of an intersection are not
 * made strict themselves (each would refuse the other's keys), only what they
 * contain.
 *
 * Each schema node is visited once (a memo also closes cycles through
 * `z.lazy` and getter shapes), and nodes with nothing to change are returned
 * as they are; the result is built once, when `validate()` is called.
 */
export function deepStrict(schema: $ZodType): $ZodType {
  const memo = new Map<$ZodType, $ZodType>();
  const sides = new Map<$ZodType, $ZodType>();

  function visit(node: $ZodType, strictSelf: boolean): $ZodType {
    const cache = strictSelf ? memo : sides;
    const known = cache.get(node);
    if (known !== undefined) return known;
    const def = node._zod.def as unknown as Def;
    if (node instanceof $ZodObject) return object(node, def, strictSelf, cache);
    if (def.type === 'lazy') return lazy(node, def, cache);
    const changes: Def = {};
    for (const key of CHILD) {
      const child = def[key];
      if (isSchema(child)) {
        const next = visit(child, true);
        if (next !== child) changes[key] = next;
      }
    }
    for (const key of CHILDREN) {
      const list = def[key];
      if (Array.isArray(list)) {
        const next = list.map((child: unknown) => (isSchema(child) ? visit(child, true) : child));
        if (next.some((child, i) => child !== list[i])) changes[key] = next;
      }
    }
    if (def.type === 'intersection') {
      for (const key of ['left', 'right'] as const) {
        const side = def[key];
        if (isSchema(side)) {
          const next = visit(side, false);
          if (next !== side) changes[key] = next;
        }
      }
    }
    const result = Object.keys(changes).length === 0 ? node : cloneWith(node, def, changes);
    cache.set(node, result);
    return result;
  }

  function object(
    node: $ZodType,
    def: Def,
    strictSelf: boolean,
    cache: Map<$ZodType, $ZodType>,
  ): $ZodType {
    const original = def.shape as Record<string, unknown>;
    let shape: Record<string, unknown> | undefined;
    const changes: Def = {
      // Built on first read, so a recursive schema (a getter in its shape) can
      // refer back to this very node through the memo.
      get shape() {
        shape ??= Object.fromEntries(
          Object.keys(original).map((key) => {
            const child = original[key];
            return [key, isSchema(child) ? visit(child, true) : child];
          }),
        );
        return shape;
      },
    };
    if (strictSelf && isDefaultMode(def)) changes.catchall = _never($ZodNever);
    const result = cloneWith(node, def, changes);
    cache.set(node, result);
    return result;
  }

  function lazy(node: $ZodType, def: Def, cache: Map<$ZodType, $ZodType>): $ZodType {
    const getter = def.getter as () => $ZodType;
    let inner: $ZodType | undefined;
    const result = cloneWith(node, def, { getter: () => (inner ??= visit(getter(), true)) });
    cache.set(node, result);
    return result;
  }

  return visit(schema, true);
}
