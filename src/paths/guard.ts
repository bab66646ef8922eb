import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import type { RouteAgnosticHandler } from '../handler.js';
import { securityEvents } from '../events.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { sendProblem } from '../internal/problem.js';
import { readRealRules, resolveRealFrom, type RealPathOptions } from './resolve.js';
import { PathTraversalError } from './rules.js';

/** Where the untrusted path comes from: a route parameter, a query parameter, or a function. */
export type PathSource = `param:${string}` | `query:${string}` | ((req: Request) => unknown);

export interface PathGuardOptions extends RealPathOptions {
  /** Folder every path must stay in. Must exist; its real path is resolved once, at creation. */
  root: string;
  /**
   * Request part holding the path: `'param:name'` (an Express 5 `*splat`
   * array is joined with `/`), `'query:name'` (a single string only), or a
   * function returning a string or an array of segments.
   */
  from: PathSource;
}

const KNOWN: KnownKeys<PathGuardOptions> = {
  root: true,
  from: true,
  allowDotfiles: true,
  extensions: true,
  maxLength: true,
  allowHardLinks: true,
};

const SOURCE = /^(param|query):(.+)$/;

type Reader = (req: Request) => unknown;

function joinSegments(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return value.every((segment): segment is string => typeof segment === 'string')
    ? value.join('/')
    : undefined;
}

function readerFor(check: OptionChecker<PathGuardOptions>): { read: Reader; label: string } {
  const from = check.raw('from');
  if (typeof from === 'function') {
    const fn = from as Reader;
    return { read: (req) => joinSegments(fn(req)), label: 'function' };
  }
  const match = typeof from === 'string' ? SOURCE.exec(from) : null;
  const kind = match?.[1];
  const name = match?.[2];
  if (kind === undefined || name === undefined) {
    check.problem("`from` must be 'param:<name>', 'query:<name>' or a function");
    return { read: () => undefined, label: '' };
  }
  const label = `${kind}:${name}`;
  if (kind === 'param') {
    return {
      read: (req) => {
        const params = req.params as Record<string, unknown>;
        return joinSegments(Object.hasOwn(params, name) ? params[name] : undefined);
      },
      label,
    };
  }
  // A repeated query parameter arrives as an array: ambiguous, so refused.
  return {
    read: (req) => {
      const query = req.query as Record<string, unknown>;
      return Object.hasOwn(query, name) ? query[name] : undefined;
    },
    label,
  };
}

function realRootOf(check: OptionChecker<PathGuardOptions>): string {
  const root = check.raw('root');
  if (typeof root !== 'string' || root === '' || root.includes('\0')) {
    check.problem('`root` must be a non-empty path string');
    return '';
  }
  try {
    const real = realpathSync(path.resolve(root));
    if (!statSync(real).isDirectory()) {
      check.problem('`root` must be a folder');
      return '';
    }
    return real;
  } catch {
    check.problem('`root` must exist and be readable');
    return '';
  }
}

/**
 * Reads an untrusted path from the request, resolves it inside `root`
 * (following symlinks, which must stay inside too; regular files with more
 * than one hard link are refused unless `allowHardLinks`) and sets `req.safePath`
 * to the real absolute path; otherwise answers 400 `path.traversal` and
 * emits `path.traversal_blocked`. The handler still opens the file itself,
 * ideally with `res.sendFile(req.safePath)`.
 *
 * @param options.root folder paths must stay in; must exist
 * @param options.from `'param:<name>'`, `'query:<name>'` or `(req) => string | string[]`
 * @param [options.allowDotfiles=false]
 * @param [options.extensions] allowed extensions, e.g. `['.txt', '.md']`
 * @param [options.maxLength=1024]
 * @param [options.allowHardLinks=false] serve regular files with more than one hard link
 * @example app.get('/files/*splat', pathGuard({ root: '/srv/files', from: 'param:splat' }),
 *   (req, res) => res.sendFile(req.safePath!));
 */
export function pathGuard(options: PathGuardOptions): RouteAgnosticHandler {
  const check = new OptionChecker('pathGuard', options, KNOWN);
  const realRoot = realRootOf(check);
  const { read, label } = readerFor(check);
  const rules = readRealRules(check);
  check.done();

  async function guard(req: Request): Promise<string> {
    const value = read(req);
    if (value === undefined) throw new PathTraversalError('missing');
    return resolveRealFrom(realRoot, value, rules);
  }

  return function pathGuardMiddleware(req: Request, res: Response, next: NextFunction): void {
    guard(req).then(
      (safePath) => {
        req.safePath = safePath;
        next();
      },
      (error: unknown) => {
        if (!(error instanceof PathTraversalError)) {
          next(error);
          return;
        }
        securityEvents.emit('path.traversal_blocked', req, {
          reason: error.reason,
          source: label,
        });
        sendProblem(res, error);
      },
    );
  };
}
