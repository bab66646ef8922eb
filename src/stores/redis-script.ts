import { createHash } from 'node:crypto';
import { redisCommand, type RedisClientLike } from './redis-client.js';

/** A Lua script sent by SHA once loaded, so each call is one round trip. */
export interface RedisScript {
  readonly source: string;
  readonly sha: string;
}

export function redisScript(source: string): RedisScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * EVALSHA, falling back to EVAL when Redis has not seen the script (after a
 * restart, a failover or on a fresh node); EVAL caches it for the next call.
 *
 * Every key the script touches must be in `keys`, and on a cluster they must
 * share a hash slot (a common `{tag}`): the command goes to the node owning
 * the first key, which refuses keys of other slots (`CROSSSLOT`).
 */
export async function runScript(
  client: RedisClientLike,
  script: RedisScript,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  const tail = [String(keys.length), ...keys, ...args];
  const first = keys[0];
  try {
    return await redisCommand(client, ['EVALSHA', script.sha, ...tail], first);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redisCommand(client, ['EVAL', script.source, ...tail], first);
  }
}
