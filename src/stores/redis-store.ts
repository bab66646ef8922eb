import type { AuthStore, RefreshRotation } from './auth-store.js';
import { isRedisClient, redisCommand, type RedisClientLike } from './redis-client.js';
import { redisScript, runScript, type RedisScript } from './redis-script.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';

export interface RedisStoreOptions {
  /** Prepended to every key, so several apps or environments can share one Redis. @default 'bulwark:auth:' */
  prefix?: string;
}

const KNOWN: KnownKeys<RedisStoreOptions> = { prefix: true };

// Values are strings; ARGV[2] is a lifetime in ms or '' for none.
const REPLACE = redisScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2])
else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1`);

// A family is a hash {d = data, r = revoked}; a token is a hash {f = family key, s = spent}.
const CREATE_FAMILY = redisScript(`
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'r', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local ttl = tonumber(ARGV[3])
local left = redis.call('PTTL', KEYS[1])
if left > 0 and left < ttl then ttl = left end
redis.call('HSET', KEYS[2], 'f', KEYS[1], 's', '0')
redis.call('PEXPIRE', KEYS[2], ttl)
return 1`);

// KEYS: family, its revoked mark, the token, the successor. ARGV: successor ttl, mark ttl.
const ROTATE = redisScript(`
local family = redis.call('HMGET', KEYS[1], 'd', 'r')
if not family[1] then return {'unknown'} end
local token = redis.call('HMGET', KEYS[3], 'f', 's')
if token[1] ~= KEYS[1] then return {'unknown'} end
if token[2] == '1' then
  redis.call('HSET', KEYS[1], 'r', '1')
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
  return {'reused', family[1]}
end
if family[2] == '1' then return {'revoked', family[1]} end
redis.call('HSET', KEYS[3], 's', '1')
local ttl = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left > 0 and left < ttl then ttl = left end
redis.call('DEL', KEYS[4])
redis.call('HSET', KEYS[4], 'f', KEYS[1], 's', '0')
redis.call('PEXPIRE', KEYS[4], ttl)
return {'rotated', family[1]}`);

// KEYS: family, its revoked mark. ARGV: mark ttl. The mark is set even for an ended family.
const REVOKE_FAMILY = redisScript(`
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
local data = redis.call('HGET', KEYS[1], 'd')
if not data then return false end
redis.call('HSET', KEYS[1], 'r', '1')
return data`);

function ms(ttlMs: number): string {
  return String(Math.max(1, Math.ceil(ttlMs)));
}

function text(reply: unknown): string | undefined {
  if (typeof reply === 'string') return reply;
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  return undefined;
}

/**
 * An `AuthStore` on Redis, shared by every process that uses the same Redis
 * and prefix, so a revocation in one is seen by all at once. Every command
 * goes through `redisCommand` (so each has a deadline); the operations that
 * must be atomic (compare-and-set, refresh rotation, family revocation) are
 * Lua scripts, and every key a script touches is passed in `KEYS` (the token
 * service gives a family's keys one hash tag).
 *
 * @param client a client from `createRedisClient(url)` (or any `sendCommand` client)
 * @param [options.prefix='bulwark:auth:']
 * @example const store = redisStore(createRedisClient(process.env.REDIS_URL), { prefix: 'api:auth:' });
 */
export function redisStore(client: RedisClientLike, options?: RedisStoreOptions): AuthStore {
  const check = new OptionChecker('redisStore', options, KNOWN);
  if (!isRedisClient(client)) {
    check.problem('client must be a Redis client with sendCommand (see createRedisClient)');
  }
  const prefix = check.string('prefix', 'bulwark:auth:', {
    nonEmpty: true,
    maxLength: 256,
  });
  check.done();

  const k = (key: string): string => prefix + key;
  const run = (args: string[]): Promise<unknown> => redisCommand(client, args);

  const evalScript = (s: RedisScript, keys: readonly string[], args: string[]): Promise<unknown> =>
    runScript(client, s, keys.map(k), args);

  return {
    async get(key) {
      return text(await run(['GET', k(key)]));
    },
    async getMany(keys) {
      if (keys.length === 0) return [];
      const reply = await run(['MGET', ...keys.map(k)]);
      return Array.isArray(reply) ? reply.map(text) : keys.map(() => undefined);
    },
    async set(key, value, ttlMs) {
      await run(
        ttlMs === undefined ? ['SET', k(key), value] : ['SET', k(key), value, 'PX', ms(ttlMs)],
      );
    },
    async setIfAbsent(key, value, ttlMs) {
      const args = ['SET', k(key), value, 'NX'];
      if (ttlMs !== undefined) args.push('PX', ms(ttlMs));
      return (await run(args)) !== null;
    },
    async replace(key, expected, value, ttlMs) {
      const reply = await evalScript(
        REPLACE,
        [key],
        [expected, value, ttlMs === undefined ? '' : ms(ttlMs)],
      );
      return reply === 1;
    },
    async delete(key) {
      return (await run(['DEL', k(key)])) === 1;
    },
    async addMember(setKey, member) {
      await run(['SADD', k(setKey), member]);
    },
    async removeMember(setKey, member) {
      await run(['SREM', k(setKey), member]);
    },
    async members(setKey) {
      const reply = await run(['SMEMBERS', k(setKey)]);
      return Array.isArray(reply) ? reply.map(text).filter((m) => m !== undefined) : [];
    },
    async createRefreshFamily(family, token) {
      await evalScript(
        CREATE_FAMILY,
        [family.familyKey, token.tokenKey],
        [family.data, ms(family.ttlMs), ms(token.ttlMs)],
      );
    },
    async rotateRefreshToken(family, tokenKey, successor): Promise<RefreshRotation> {
      const reply = await evalScript(
        ROTATE,
        [family.familyKey, family.revokedKey, tokenKey, successor.tokenKey],
        [ms(successor.ttlMs), ms(family.revokedTtlMs)],
      );
      if (!Array.isArray(reply)) return { status: 'unknown' };
      const status = text(reply[0]);
      const data = text(reply[1]);
      if (data === undefined) return { status: 'unknown' };
      if (status === 'rotated' || status === 'reused' || status === 'revoked') {
        return { status, family: data };
      }
      return { status: 'unknown' };
    },
    async revokeRefreshFamily(family) {
      return text(
        await evalScript(
          REVOKE_FAMILY,
          [family.familyKey, family.revokedKey],
          [ms(family.revokedTtlMs)],
        ),
      );
    },
  };
}
