import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { currentEnvironment, isProduction } from '../internal/env.js';
import { Memo } from '../internal/memo.js';
import { isRepeated } from '../internal/headers.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { sendProblem } from '../internal/problem.js';
import { markVetted, parseHost, requestedHost, type ParsedHost } from './host.js';

export interface TrustedHostsOptions {
  /**
   * Hosts this app answers to: `api.example.com`, `api.example.com:8443`,
   * `api.example.com:*` (any port), `*.example.com` (one or more subdomain labels,
   * never the apex), `127.0.0.1:3000`, `[::1]:3000`. An entry without a port
   * matches only a Host without a port.
   */
  hosts: readonly string[];
  /** Exact paths that skip the check, e.g. `/health` for probes that send an IP as Host. @default [] */
  exclude?: readonly string[];
  /**
   * Deployment environment; outside production a refusal's `detail` names the
   * setting that lists hosts. @default ENVIRONMENT or NODE_ENV
   */
  env?: string;
}

const KNOWN: KnownKeys<TrustedHostsOptions> = { hosts: true, exclude: true, env: true };

/**
 * What a developer meeting the 400 needs, by event reason. Never the Host
 * value itself: it is attacker input, and echoing it is what Host injection
 * feeds on. Production answers carry none, as the setting is deployment detail.
 */
const DEVELOPMENT_DETAILS: Readonly<Record<string, string>> = {
  host_not_listed:
    'This host is not one the app serves: add it to TRUSTED_HOSTS, or to trustedHosts({ hosts }).',
  malformed_host: 'The Host header is not a host name or IP literal with an optional port.',
  missing_host: 'The request has no Host header.',
  duplicate_host: 'The request has more than one Host header.',
  ambiguous_host: 'The Host names more than one host.',
  absolute_form: 'The request line names a host; send a path and a Host header instead.',
};
/**
 * Verdicts remembered per raw host value: an app sees a handful of Host values,
 * so parsing each once saves a regex and an IP check per request. Hostile
 * traffic with random values only pushes the least recently used out.
 */
const MAX_REMEMBERED_HOSTS = 256;
const ACCEPTED = '';
// parseHost() refuses anything longer, so longer values are never worth remembering.
const MAX_HOST_LENGTH = 260;

/** One entry of a trusted-host list, parsed. */
export interface HostRule {
  /** Exact hostname, or the `.example.com` suffix of a wildcard. */
  readonly name: string;
  readonly wildcard: boolean;
  /** `undefined` means any port; `''` means no port. */
  readonly port: string | undefined;
}

/** An entry refused, with a message naming it. */
export interface HostProblem {
  readonly problem: string;
}

/**
 * Parses one trusted-host entry. The one rule for the host format:
 * `trustedHosts()` and `loadConfig()` (for `TRUSTED_HOSTS`) both call it, so
 * a value the config accepts is never refused by the factory.
 */
export function parseHostRule(entry: string): HostRule | HostProblem {
  const trimmed = entry.trim();
  const anyPort = trimmed.endsWith(':*');
  const body = anyPort ? trimmed.slice(0, -2) : trimmed;
  const wildcard = body.startsWith('*.');
  const parsed = parseHost(wildcard ? `wildcard${body.slice(1)}` : body);
  const shown = JSON.stringify(entry);
  if (parsed === undefined || (anyPort && parsed.port !== '')) {
    return {
      problem: `\`hosts\` entry ${shown} is not a host name, IP literal or \`*.\` pattern with an optional port`,
    };
  }
  if (wildcard) {
    const suffix = parsed.hostname.slice('wildcard'.length);
    const labels = suffix.split('.');
    if (labels.length < 3 || /^[0-9]*$/.test(labels[labels.length - 1] ?? '')) {
      return {
        problem: `\`hosts\` entry ${shown}: a wildcard needs at least two labels after \`*.\``,
      };
    }
    return { name: suffix, wildcard: true, port: anyPort ? undefined : parsed.port };
  }
  return { name: parsed.hostname, wildcard: false, port: anyPort ? undefined : parsed.port };
}

/** A parsed rule written back in the list's own form, lowercase: `*.example.com:8443`. */
export function hostRuleText(rule: HostRule): string {
  const port = rule.port === undefined ? ':*' : rule.port === '' ? '' : `:${rule.port}`;
  return `${rule.wildcard ? '*' : ''}${rule.name}${port}`;
}

function matches(rule: HostRule, host: ParsedHost): boolean {
  if (rule.port !== undefined && rule.port !== host.port) return false;
  if (!rule.wildcard) return rule.name === host.hostname;
  return !host.ip && host.hostname.length > rule.name.length && host.hostname.endsWith(rule.name);
}

/**
 * Answers 400 `host.untrusted` unless the request's host is listed. Stops Host
 * header injection: poisoned password-reset links, cache poisoning, and
 * DNS-rebinding attacks that reach the app under a name it never owned.
 * `X-Forwarded-Host` is read only when the app's `trust proxy` trusts the peer.
 *
 * @param hostsOrOptions a list of hosts, or `{hosts, exclude, env}`
 * @example app.use(trustedHosts(['api.example.com', '*.api.example.com']));
 */
export function trustedHosts(
  hostsOrOptions: readonly string[] | TrustedHostsOptions,
): RequestHandler {
  const options: TrustedHostsOptions | undefined = Array.isArray(hostsOrOptions)
    ? { hosts: hostsOrOptions }
    : (hostsOrOptions as TrustedHostsOptions | undefined);
  const check = new OptionChecker('trustedHosts', options, KNOWN);
  if (!check.has('hosts'))
    check.problem('`hosts` is required: list the host names this app serves');
  const entries = check.stringArray('hosts', [], { nonEmpty: true });
  const exclude = new Set(check.stringArray('exclude', []));
  const production = isProduction(check.string('env', currentEnvironment()));
  for (const path of exclude) {
    if (!path.startsWith('/'))
      check.problem(`\`exclude\` entry ${JSON.stringify(path)} must start with /`);
  }
  const problems: string[] = [];
  const exact = new Map<string, HostRule[]>();
  const wildcards: HostRule[] = [];
  for (const entry of entries) {
    const rule = parseHostRule(entry);
    if ('problem' in rule) {
      problems.push(rule.problem);
      continue;
    }
    if (rule.wildcard) {
      wildcards.push(rule);
    } else {
      const list = exact.get(rule.name) ?? [];
      list.push(rule);
      exact.set(rule.name, list);
    }
  }
  for (const problem of problems) check.problem(problem);
  check.done();

  /** `ACCEPTED`, or the reason the host is refused. */
  function judge(raw: string): string {
    const host = parseHost(raw);
    if (host === undefined) return 'malformed_host';
    const candidates = exact.get(host.hostname);
    const ok =
      (candidates?.some((rule) => matches(rule, host)) ?? false) ||
      wildcards.some((rule) => matches(rule, host));
    return ok ? ACCEPTED : 'host_not_listed';
  }
  const verdicts = new Memo<string>(MAX_REMEMBERED_HOSTS, MAX_HOST_LENGTH);

  function reject(req: Request, res: Response, reason: string): void {
    securityEvents.emit('host.rejected', req, { reason });
    const detail = production ? undefined : DEVELOPMENT_DETAILS[reason];
    sendProblem(res, new BulwarkError('host.untrusted', detail === undefined ? {} : { detail }));
  }

  return function trustedHostsMiddleware(req: Request, res: Response, next: NextFunction): void {
    if (exclude.size > 0 && exclude.has(req.path)) {
      next();
      return;
    }
    const url = req.originalUrl;
    // An absolute-form request line (`GET http://evil.example/ HTTP/1.1`) names its own
    // host, which some components prefer over Host; a server behind a proxy never gets one.
    if (url.charCodeAt(0) !== 47 /* / */ && url !== '*') {
      reject(req, res, 'absolute_form');
      return;
    }
    // RFC 9112 §3.2: a request with more than one Host line is a 400. Node keeps
    // the first; a proxy or cache in front may route on the last.
    if (isRepeated(req, 'host')) {
      reject(req, res, 'duplicate_host');
      return;
    }
    const raw = requestedHost(req);
    if (raw === '') {
      reject(req, res, 'missing_host');
      return;
    }
    if (raw.includes(',')) {
      reject(req, res, 'ambiguous_host');
      return;
    }
    let verdict = verdicts.get(raw);
    if (verdict === undefined) {
      verdict = judge(raw);
      verdicts.set(raw, verdict);
    }
    if (verdict !== ACCEPTED) {
      reject(req, res, verdict);
      return;
    }
    markVetted(req);
    next();
  };
}
