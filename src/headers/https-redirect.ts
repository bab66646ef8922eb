import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { sendProblem } from '../internal/problem.js';
import { warnOnce } from '../internal/warn.js';
import { isVetted, parseHost, requestedHost } from './host.js';

export interface HttpsRedirectOptions {
  /**
   * Fixed host (with an optional port) to redirect to, e.g. `api.example.com`.
   * Without it the request's own host is used, which is only safe after
   * `trustedHosts()` has checked it. @default the checked request host
   */
  host?: string;
  /** Exact paths served over plain HTTP too, e.g. `/health` for load-balancer probes. @default [] */
  exclude?: readonly string[];
}

const KNOWN: KnownKeys<HttpsRedirectOptions> = { host: true, exclude: true };

/**
 * Answers insecure requests with `308 Permanent Redirect` to the same URL over
 * https, so method and body are kept. "Insecure" is `!req.secure`, which honours
 * the app's `trust proxy`: a client-sent `X-Forwarded-Proto` counts only when
 * the proxy that forwarded it is trusted.
 *
 * @param [options.host] fixed redirect host; otherwise mount `trustedHosts()` first
 * @param [options.exclude=[]]
 * @example app.use(trustedHosts(['api.example.com']), httpsRedirect({ exclude: ['/health'] }));
 */
export function httpsRedirect(options?: HttpsRedirectOptions): RequestHandler {
  const check = new OptionChecker('httpsRedirect', options, KNOWN);
  const fixedHost = check.string('host', undefined, { nonEmpty: true });
  if (fixedHost !== undefined && parseHost(fixedHost) === undefined) {
    check.problem('`host` must be a host name or IP literal with an optional port, nothing else');
  }
  const exclude = new Set(check.stringArray('exclude', []));
  for (const path of exclude) {
    if (!path.startsWith('/'))
      check.problem(`\`exclude\` entry ${JSON.stringify(path)} must start with /`);
  }
  check.done();
  const fixedPrefix = fixedHost === undefined ? undefined : `https://${fixedHost.toLowerCase()}`;

  return function httpsRedirectMiddleware(req: Request, res: Response, next: NextFunction): void {
    if (req.secure || (exclude.size > 0 && exclude.has(req.path))) {
      next();
      return;
    }
    let prefix = fixedPrefix;
    if (prefix === undefined) {
      if (!isVetted(req)) {
        warnOnce(
          'BULWARK_REDIRECT_UNCHECKED_HOST',
          'httpsRedirect() is building redirects from a Host that trustedHosts() has not checked; mount trustedHosts() first or pass `host`.',
        );
      }
      const host = parseHost(requestedHost(req));
      if (host === undefined) {
        // No safe place to send the client: refuse rather than redirect to an attacker's input.
        securityEvents.emit('host.rejected', req, { reason: 'malformed_host' });
        sendProblem(res, new BulwarkError('host.untrusted'));
        return;
      }
      prefix = `https://${host.hostname}${host.port === '' ? '' : `:${host.port}`}`;
    }
    // Node's parser admits only printable ASCII here, so the URL is a valid header value as is.
    const url = req.originalUrl;
    res.statusCode = 308;
    res.setHeader('Location', prefix + (url.charCodeAt(0) === 47 ? url : '/'));
    res.setHeader('Content-Length', '0');
    res.end();
  };
}
