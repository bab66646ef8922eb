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
 * restart or on a fresh replica); EVAL caches it for the next call.
 */
export async function runScript(
  client: RedisClientLike,
  script: RedisScript,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return await redisCommand(client, ['EVALSHA', script.sha, ...tail]);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redisCommand(client, ['EVAL', script.source, ...tail]);
  }
}
