import type { Response } from 'express';
import type { BulwarkError } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/**
 * Writes a rejection directly, so each middleware answers correctly even in an
 * app that never mounts `errorHandler()`.
 */
export function sendProblem(res: Response, error: BulwarkError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
  res.setHeader('Cache-Control', 'no-store');
  res.status(error.status).end(JSON.stringify(error.toProblem()));
}
