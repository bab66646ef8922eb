import type { ServerOptions } from 'node:http';
import { OptionChecker, type KnownKeys } from '../internal/options.js';

/** Slow-client limits of a Node HTTP server, in milliseconds (the names of `http.createServer`). */
export interface ServerTimeoutsOptions {
  /** Time a client has to send the whole request head. @default 10000 */
  headersTimeout?: number;
  /** Time a client has to send the whole request, head and body. @default 30000 */
  requestTimeout?: number;
  /** How long an idle keep-alive connection stays open. @default 5000 */
  keepAliveTimeout?: number;
  /**
   * How often Node checks the two timeouts above; a timeout can be overrun
   * by up to this much. Node's own default is 30000, which lets a 10 s
   * `headersTimeout` hold a slow client for up to 40 s. @default 1000
   */
  connectionsCheckingInterval?: number;
}

/** The options `serverTimeouts()` returns: pass them to `http.createServer` or `https.createServer`. */
export type ServerTimeouts = Required<ServerTimeoutsOptions> & ServerOptions;

const KNOWN: KnownKeys<ServerTimeoutsOptions> = {
  headersTimeout: true,
  requestTimeout: true,
  keepAliveTimeout: true,
  connectionsCheckingInterval: true,
};

const MAX_MS = 2_147_483_647;

/**
 * Server options that make slow-client timeouts hold: Node enforces
 * `headersTimeout` and `requestTimeout` only when it sweeps its connections,
 * every `connectionsCheckingInterval` (30 s by default), so a client that
 * trickles a header line now and then is cut off up to 30 s late. This sets
 * the sweep to 1 s, and the timeouts to values fit for an API. The interval
 * can only be given when the server is created, not set afterwards.
 *
 * @param [options.headersTimeout=10000]
 * @param [options.requestTimeout=30000] at least `headersTimeout`
 * @param [options.keepAliveTimeout=5000]
 * @param [options.connectionsCheckingInterval=1000] at most `headersTimeout`
 * @example const server = http.createServer(serverTimeouts(), app);
 */
export function serverTimeouts(options?: ServerTimeoutsOptions): ServerTimeouts {
  const check = new OptionChecker('serverTimeouts', options, KNOWN);
  const rule = { min: 1, max: MAX_MS, integer: true } as const;
  const headersTimeout = check.number('headersTimeout', { ...rule, default: 10_000 });
  const requestTimeout = check.number('requestTimeout', { ...rule, default: 30_000 });
  const keepAliveTimeout = check.number('keepAliveTimeout', { ...rule, default: 5_000 });
  const connectionsCheckingInterval = check.number('connectionsCheckingInterval', {
    ...rule,
    default: Math.min(1_000, headersTimeout),
  });
  // Node refuses a request timeout shorter than the head's; say so here, with the names.
  if (requestTimeout < headersTimeout) {
    check.problem('`requestTimeout` must be at least `headersTimeout`');
  }
  if (connectionsCheckingInterval > headersTimeout) {
    check.problem('`connectionsCheckingInterval` must be at most `headersTimeout`');
  }
  check.done();
  return { headersTimeout, requestTimeout, keepAliveTimeout, connectionsCheckingInterval };
}
