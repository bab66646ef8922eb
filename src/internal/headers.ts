import type { IncomingMessage } from 'node:http';

/**
 * True when the request carries the header `name` (lower case) more than once.
 * For Host, Authorization, Content-Type and Content-Length Node keeps only the
 * first line in `req.headers`, so a check on that value says nothing about the
 * second one, which a proxy or another parser may use instead (RFC 9110
 * §5.3: such fields are not lists, so two lines are ambiguous). Scans
 * `rawHeaders` without building `headersDistinct` for every request.
 */
export function isRepeated(req: IncomingMessage, name: string): boolean {
  const raw = req.rawHeaders;
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const field = raw[i];
    if (field?.length === name.length && field.toLowerCase() === name) {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}
