import type { NextFunction, Request, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { safeParseAsync, type $ZodIssue, type $ZodType, type output } from 'zod/v4/core';
import { BulwarkConfigError, BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { defineOwn } from '../internal/own.js';
import { sendProblem } from '../internal/problem.js';
import { warnOnce } from '../internal/warn.js';
import { publicIssues, type ValidationIssue } from './issues.js';
import { deepStrict } from './strict.js';

/** The request parts `validate()` checks, each with a zod 4 schema (classic or mini). */
export interface ValidationSchemas {
  /** `req.body`; replaced by the parsed output. Plain `z.object`s, at any depth, are made strict. */
  body?: $ZodType;
  /** `req.query`; replaced by the parsed output (also on Express 5). Made strict like `body`. */
  query?: $ZodType;
  /** `req.params`; replaced by the parsed output. Made strict like `body`. */
  params?: $ZodType;
  /** `req.headers`; checked only: never made strict and never replaced. */
  headers?: $ZodType;
}

type Part = keyof ValidationSchemas;

/** Output type of one part's schema, or `Fallback` when the part has no schema. */
export type ValidatedPart<S, K extends Part, Fallback> = S extends {
  [P in K]: infer T extends $ZodType;
}
  ? output<T>
  : Fallback;

/**
 * The parts of the request `validate()` types: each validated part as its
 * schema's output, and `body` as `unknown` when it has no schema (read only
 * what a schema allowed). `params` and `query` without a schema are left out,
 * so they keep the route's types (the path's parameters, Express's `ParsedQs`).
 */
export type ValidatedRequest<S extends ValidationSchemas> = {
  [
    K in 'params' | 'query' | 'body' as K extends 'body'
      ? K
      : S extends { [P in K]: $ZodType }
        ? K
        : never
  ]: ValidatedPart<S, K, unknown>;
};

/**
 * The handler `validate()` returns. Route handlers mounted after it see the
 * schemas' output types on `req.params`, `req.body` and `req.query`, whatever
 * else is on the route (see `RouteAgnosticHandler`).
 */
// Like `RouteAgnosticHandler`, the request is the application-wide
// `Express.Request` plus only the validated parts, so those parts are all
// this handler adds to Express's inference of the route's types; the method
// syntax keeps it assignable from a function taking Express's `Request`.
export type ValidatedHandler<S extends ValidationSchemas> = {
  handle(
    req: IncomingMessage & Express.Request & ValidatedRequest<S>,
    res: ServerResponse & Express.Response,
    next: NextFunction,
  ): void;
}['handle'];

// Checked in this order so one response can list the problems of every part.
const PARTS: readonly Part[] = ['params', 'query', 'headers', 'body'];
const REPLACED: ReadonlySet<Part> = new Set(['params', 'query', 'body']);
const MAX_ERRORS = 20;

type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly issues: readonly $ZodIssue[] }
  | { readonly ok: false; readonly tooDeep: true };

function isSchema(value: unknown): value is $ZodType {
  return typeof value === 'object' && value !== null && '_zod' in value;
}

function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

function settle(result: { success: boolean; data?: unknown; error?: { issues: $ZodIssue[] } }) {
  return result.success
    ? ({ ok: true, value: result.data } as const)
    : ({ ok: false, issues: result.error?.issues ?? [] } as const);
}

// One way for every schema: async refinements and transforms work like any other.
async function parse(schema: $ZodType, input: unknown): Promise<Outcome> {
  try {
    return settle(await safeParseAsync(schema, input));
  } catch (error) {
    if (isStackOverflow(error)) return { ok: false, tooDeep: true };
    throw error;
  }
}

function hasUnparsedBody(req: Request): boolean {
  if ((req.body as unknown) !== undefined) return false;
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

// Express 5 defines `req.query` as a getter on the prototype that re-parses the
// URL on every read; an own data property on the request shadows it. `body` and
// `params` are plain properties, which an assignment replaces.
function replace(req: Request, part: Part, value: unknown): void {
  if (part === 'query') defineOwn(req, part, value);
  else (req as unknown as Record<Part, unknown>)[part] = value;
}

/**
 * Validates the request against zod 4 schemas and replaces `req.body`,
 * `req.query` and `req.params` with the parsed output, so the handler sees
 * only what the schema allows, with the schema's types.
 *
 * - Every plain `z.object` is made strict, at any depth (in arrays, unions,
 *   records, optional and lazy schemas): unknown keys answer 400 (no mass
 *   assignment). Objects that chose a mode keep it: `z.looseObject`,
 *   `.passthrough()`, `.loose()`, `.catchall()`, an explicit `.strip()`.
 * - No coercion: `"5"` is not a number unless the schema says `z.coerce.number()`.
 * - Rejections are 400 `validation.failed` with `errors: [{path, code, message}]`
 *   whose messages never contain request values, and a `validation.rejected` event.
 *
 * @param schemas.body schema for `req.body` (mount `express.json()` first)
 * @param schemas.query schema for `req.query`
 * @param schemas.params schema for `req.params` (mount on the route, not with `app.use`)
 * @param schemas.headers schema for `req.headers`, checked but not replaced
 * @example
 * app.post('/v1/echo', validate({ body: z.strictObject({ message: z.string().max(2000) }) }),
 *   (req, res) => res.json({ length: req.body.message.length }));
 */
export function validate<const S extends ValidationSchemas>(schemas: S): ValidatedHandler<S> {
  const prepared = prepare(schemas);
  const checked = PARTS.flatMap((part) => {
    const schema = prepared[part];
    return schema === undefined ? [] : [[part, schema] as const];
  });

  function reject(req: Request, res: Response, errors: ValidationIssue[], reason: string): void {
    const shown = errors.slice(0, MAX_ERRORS);
    securityEvents.emit('validation.rejected', req, {
      reason,
      parts: [...new Set(errors.map((e) => e.path.split('.', 1)[0]))],
      issues: shown.map(({ path, code }) => ({ path, code })),
      count: errors.length,
    });
    sendProblem(
      res,
      new BulwarkError('validation.failed', {
        detail:
          errors.length > shown.length
            ? `The request does not match its schema (${String(errors.length)} problems, first ${String(MAX_ERRORS)} listed).`
            : 'The request does not match its schema.',
        extensions: { errors: shown },
      }),
    );
  }

  function finish(
    req: Request,
    res: Response,
    next: NextFunction,
    outcomes: readonly (readonly [Part, Outcome])[],
  ): void {
    const errors: ValidationIssue[] = [];
    let tooDeep = false;
    for (const [part, outcome] of outcomes) {
      if (outcome.ok) continue;
      if ('tooDeep' in outcome) {
        tooDeep = true;
        errors.push({ path: part, code: 'too_deep', message: 'Nested too deeply' });
      } else {
        for (const issue of outcome.issues) errors.push(...publicIssues(part, issue));
      }
    }
    if (errors.length > 0) {
      reject(req, res, errors, tooDeep ? 'too_deep' : 'schema_mismatch');
      return;
    }
    for (const [part, outcome] of outcomes) {
      if (outcome.ok && REPLACED.has(part)) replace(req, part, outcome.value);
    }
    next();
  }

  async function check(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (prepared.body !== undefined && hasUnparsedBody(req)) {
      warnOnce(
        'BULWARK_BODY_NOT_PARSED',
        'validate(): a request had a body but req.body is undefined; mount a body parser such as express.json() before validate().',
      );
    }
    const outcomes = await Promise.all(
      checked.map(async ([part, schema]) => [part, await parse(schema, req[part])] as const),
    );
    finish(req, res, next, outcomes);
  }

  return function validateMiddleware(req: Request, res: Response, next: NextFunction): void {
    check(req, res, next).catch(next);
  };
}

function prepare(schemas: ValidationSchemas): Partial<Record<Part, $ZodType>> {
  const problems: string[] = [];
  const given: unknown = schemas;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new BulwarkConfigError('validate', [
      'expected an object of schemas: { body, query, params, headers }',
    ]);
  }
  const prepared: Partial<Record<Part, $ZodType>> = {};
  for (const key of Object.keys(given)) {
    if (!(PARTS as readonly string[]).includes(key)) {
      problems.push(`unknown part \`${key}\`; expected body, query, params or headers`);
    }
  }
  for (const part of PARTS) {
    const schema: unknown = (given as Record<string, unknown>)[part];
    if (schema === undefined) continue;
    if (!isSchema(schema)) {
      problems.push(`\`${part}\` must be a zod 4 schema`);
      continue;
    }
    prepared[part] = part === 'headers' ? schema : deepStrict(schema);
  }
  if (problems.length === 0 && Object.keys(prepared).length === 0) {
    problems.push('give at least one schema: body, query, params or headers');
  }
  if (problems.length > 0) throw new BulwarkConfigError('validate', problems);
  return prepared;
}
