import { describe } from 'vitest';
import { requireRedis } from '../helpers/redis.js';
import { describeJourney } from './journey.js';

// The example server's whole journey with REDIS_URL set: users, tokens, API
// keys, limits, budgets and the breaker cache in the shared Redis, under a
// key prefix of its own.

const hasRedis = await requireRedis();

describe.runIf(hasRedis)('with Redis', () => {
  describeJourney(true);
});
