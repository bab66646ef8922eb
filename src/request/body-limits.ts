import type { NextFunction, Request, Response } from 'express';
import type { RouteAgnosticHandler } from '../handler.js';
import { parse as parseContentType } from 'content-type';
import getRawBody from 'raw-body';
import { BulwarkError, type BulwarkErrorCode } from '../errors.js';
import { securityEvents } from '../events.js';
import { isRepeated } from '../internal/headers.js';
import { Memo } from '../internal/memo.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { sendProblem } from '../internal/problem.js';
import { warnOnce } from '../internal/warn.js';

export interface BodyLimitsOptions {
  /** Largest body in bytes, checked against `Content-Length` first and then while reading. Must be a number: `'1mb'` is refused. @default 102400 */
  maxBytes?: number;
  /** Deepest JSON nesting of objects and arrays. @default 32 */
  maxDepth?: number;
  /**
   * Media types accepted for bodies; any other gets 415. JSON types
   * (`application/json`, `*\/*+json`) are parsed into `req.body`; others are
   * read into `req.body` as a `Buffer`. @default ['application/json']
   */
  types?: readonly string[];
}

/** The largest `maxBytes`; `loadConfig()` checks MAX_BODY_BYTES by it. */
export const MAX_BODY_BYTES = 1024 ** 3;

const KNOWN: KnownKeys<BodyLimitsOptions> = { maxBytes: true, maxDepth: true, types: true };

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** A forbidden key can only appear in text containing one of these (`\u` covers escaped spellings). */
const FORBIDDEN_HINTS = ['__proto__', 'constructor', 'prototype', '\\u'];

/** raw-body failures the client caused; every other one is an internal error. */
const CLIENT_READ_ERRORS: ReadonlySet<string> = new Set([
  'request.aborted',
  'request.size.invalid',
]);

const MAX_REMEMBERED_TYPES = 64;
const MAX_REMEMBERED_TYPE_LENGTH = 256;

interface MediaType {
  readonly type: string;
  readonly charset: string | undefined;
}

interface ParsedBodyMarker {
  /** body-parser 1's "already read" flag; body-parser 2 looks at the ended stream instead. */
  _body?: boolean;
}

/**
 * One linear pass over the raw text, before `JSON.parse`, so a 10,000-deep
 * payload never reaches recursive code (the parser's callers, validators,
 * `JSON.stringify`, loggers).
 */
function exceedsDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    }
  }
  return false;
}

/** Iterative, so it is safe on any shape; depth is already bounded by the scan. */
function hasForbiddenKey(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value as unknown[])
        if (typeof item === 'object' && item !== null) stack.push(item);
      continue;
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) return true;
      const item = (value as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null) stack.push(item);
    }
  }
  return false;
}

/**
 * True when another parser (`express.json()`, an app-level `bodyLimits()`)
 * has already read this request's body: body-parser 1 and `bodyLimits()` set
 * `_body`; body-parser 2 leaves the stream ended.
 */
export function bodyAlreadyRead(req: Request): boolean {
  return (req as ParsedBodyMarker)._body === true || req.readableEnded;
}

function isJsonType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

/**
 * Reads and checks request bodies in place of `express.json()`: 413
 * `request.too_large` (declared `Content-Length` first, then the bytes actually
 * streamed), 415 `request.unsupported_media_type` for types not in `types`, for
 * compressed bodies and for non-UTF-8 JSON, 400 `request.too_deep`, 400
 * `request.forbidden_key` (`__proto__`, `constructor`, `prototype` at any depth)
 * and 400 `request.invalid_json`. Requests without a body pass untouched.
 *
 * @param [options.maxBytes=102400]
 * @param [options.maxDepth=32]
 * @param [options.types=['application/json']]
 * @example app.use(bodyLimits({ maxBytes: 64 * 1024 })); // instead of express.json()
 */
export function bodyLimits(options?: BodyLimitsOptions): RouteAgnosticHandler {
  const check = new OptionChecker('bodyLimits', options, KNOWN);
  const maxBytes = check.number('maxBytes', {
    min: 1,
    max: MAX_BODY_BYTES,
    integer: true,
    default: 102_400,
  });
  const maxDepth = check.number('maxDepth', { min: 1, max: 1000, integer: true, default: 32 });
  const types = new Map<string, boolean>();
  for (const type of check.stringArray('types', ['application/json'], { nonEmpty: true })) {
    const normalised = type.trim().toLowerCase();
    if (MEDIA_TYPE.test(normalised)) types.set(normalised, isJsonType(normalised));
    else
      check.problem(
        `\`types\` entry ${JSON.stringify(type)} is not a media type like application/json`,
      );
  }
  check.done();

  // Short details that help the caller fix the request; they carry settings, never input.
  const accepted = [...types.keys()].join(', ');
  const DETAILS: Readonly<Record<string, string>> = {
    missing_or_malformed_content_type: `Send a Content-Type header; accepted: ${accepted}.`,
    unsupported_media_type: `Accepted content types: ${accepted}.`,
    content_encoding: 'Send the body uncompressed (no Content-Encoding).',
    unsupported_charset: 'JSON bodies must be UTF-8.',
    declared_too_large: `Request bodies are limited to ${String(maxBytes)} bytes.`,
    too_large: `Request bodies are limited to ${String(maxBytes)} bytes.`,
    too_deep: `JSON bodies may nest at most ${String(maxDepth)} levels deep.`,
    invalid_json: 'The body is not valid JSON.',
    forbidden_key: 'Keys named __proto__, constructor or prototype are not accepted.',
    'request.aborted': 'The body ended before it was complete.',
    'request.size.invalid': 'The body length does not match Content-Length.',
  };

  // Parsed Content-Type values per raw header: an API sees a handful, so each is parsed once.
  const mediaTypes = new Memo<MediaType | null>(MAX_REMEMBERED_TYPES, MAX_REMEMBERED_TYPE_LENGTH);
  function mediaTypeOf(header: string | undefined): MediaType | undefined {
    if (header === undefined) return undefined;
    let known = mediaTypes.get(header);
    if (known === undefined) {
      try {
        const parsed = parseContentType(header);
        known = { type: parsed.type, charset: parsed.parameters.charset?.toLowerCase() };
      } catch {
        known = null;
      }
      mediaTypes.set(header, known);
    }
    return known ?? undefined;
  }

  function reject(req: Request, res: Response, code: BulwarkErrorCode, reason: string): void {
    securityEvents.emit('request.rejected', req, { reason });
    const detail = DETAILS[reason];
    sendProblem(res, new BulwarkError(code, detail === undefined ? {} : { detail }));
  }

  return function bodyLimitsMiddleware(req: Request, res: Response, next: NextFunction): void {
    const declared = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    // Node has already refused a non-numeric Content-Length and one sent beside Transfer-Encoding.
    const length = declared === undefined || chunked ? undefined : Number(declared);
    if (!chunked && (length === undefined || length === 0)) {
      next();
      return;
    }
    // Node keeps the first Content-Type line and refuses a second Content-Length
    // itself; a component that reads the last type would parse another body.
    if (isRepeated(req, 'content-type') || isRepeated(req, 'content-length')) {
      reject(req, res, 'request.bad_request', 'duplicate_header');
      return;
    }
    if (bodyAlreadyRead(req)) {
      warnOnce(
        'BULWARK_BODY_ALREADY_PARSED',
        'bodyLimits() found a body another parser already read, so it could not check it; mount bodyLimits() instead of express.json().',
      );
      next();
      return;
    }
    const mediaType = mediaTypeOf(req.headers['content-type']);
    if (mediaType === undefined) {
      reject(req, res, 'request.unsupported_media_type', 'missing_or_malformed_content_type');
      return;
    }
    const { type, charset } = mediaType;
    const json = types.get(type);
    if (json === undefined) {
      reject(req, res, 'request.unsupported_media_type', 'unsupported_media_type');
      return;
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      // Decompressing would let a small upload expand past maxBytes (a zip bomb).
      reject(req, res, 'request.unsupported_media_type', 'content_encoding');
      return;
    }
    if (json && charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      reject(req, res, 'request.unsupported_media_type', 'unsupported_charset');
      return;
    }
    if (length !== undefined && length > maxBytes) {
      reject(req, res, 'request.too_large', 'declared_too_large');
      return;
    }
    const onBody = (error: getRawBody.RawBodyError | null, body: Buffer | string): void => {
      if (error !== null) {
        // raw-body pauses the stream on error; let the rest drain so the connection stays usable.
        req.resume();
        if (error.type === 'entity.too.large') reject(req, res, 'request.too_large', 'too_large');
        else if (CLIENT_READ_ERRORS.has(error.type))
          reject(req, res, 'request.bad_request', error.type);
        // Anything else (a decoder that failed to load, a stream already consumed) is
        // this server's fault: a 500 through the error handler, not the client's 400.
        else next(error);
        return;
      }
      (req as ParsedBodyMarker)._body = true;
      if (typeof body !== 'string') {
        req.body = body;
        next();
        return;
      }
      if (exceedsDepth(body, maxDepth)) {
        reject(req, res, 'request.too_deep', 'too_deep');
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch {
        reject(req, res, 'request.invalid_json', 'invalid_json');
        return;
      }
      if (FORBIDDEN_HINTS.some((hint) => body.includes(hint)) && hasForbiddenKey(value)) {
        reject(req, res, 'request.forbidden_key', 'forbidden_key');
        return;
      }
      req.body = value;
      next();
    };
    try {
      getRawBody(
        req,
        { length, limit: maxBytes, encoding: json ? 'utf-8' : null },
        (error: getRawBody.RawBodyError | undefined, body: Buffer | string) => {
          onBody(error ?? null, body);
        },
      );
    } catch (error) {
      next(error);
    }
  };
}
