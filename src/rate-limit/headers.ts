import type { Response } from 'express';

/** The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers-08): lists of policy items. */
export type RateLimitField = 'RateLimit' | 'RateLimit-Policy';

function items(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A policy item's name: the quoted string before its parameters (`"cost";q=10` -> `"cost"`). */
function policyName(item: string): string {
  return item.split(';', 1)[0] ?? item;
}

function current(res: Response, field: RateLimitField): string | undefined {
  const value = res.getHeader(field);
  return typeof value === 'string' ? value : undefined;
}

/**
 * Joins `before` (what earlier limiters on the route wrote) with the value
 * now in the field: one list with an item per policy, so several limiters on
 * one route (the preset's rateLimit, then costLimit) all show instead of the
 * last one overwriting. An item for the same policy name is replaced.
 */
export function mergeRateLimitField(
  res: Response,
  field: RateLimitField,
  before: string | undefined,
): void {
  const now = current(res, field);
  if (before === undefined || now === undefined || now === before || res.headersSent) return;
  const fresh = items(now);
  const names = new Set(fresh.map(policyName));
  const kept = items(before).filter((item) => !names.has(policyName(item)));
  res.setHeader(field, [...kept, ...fresh].join(', '));
}

/** Adds one policy item to a field, keeping other limiters' items. */
export function appendRateLimitItem(res: Response, field: RateLimitField, item: string): void {
  const before = current(res, field);
  res.setHeader(field, item);
  mergeRateLimitField(res, field, before);
}
