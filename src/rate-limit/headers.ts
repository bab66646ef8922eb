import type { Response } from 'express';

/** The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers-08): lists of policy items. */
export type RateLimitField = 'RateLimit' | 'RateLimit-Policy';

/** A policy item's name: the quoted string before its parameters (`"cost";q=10` -> `"cost"`). */
function policyName(item: string): string {
  return item.split(';', 1)[0] ?? item;
}

/**
 * Adds one limiter's policy item to a field, keeping the items earlier
 * limiters on the route wrote (the preset's rateLimit, then costLimit): one
 * list with an item per policy, as draft-8 has it, instead of the last
 * limiter overwriting. An earlier item of the same policy name is replaced.
 */
export function addRateLimitItem(res: Response, field: RateLimitField, item: string): void {
  const before = res.getHeader(field);
  if (typeof before !== 'string' || before === '') {
    res.setHeader(field, item);
    return;
  }
  const name = policyName(item);
  const kept = before
    .split(',')
    .map((earlier) => earlier.trim())
    .filter((earlier) => earlier !== '' && policyName(earlier) !== name);
  res.setHeader(field, [...kept, item].join(', '));
}
