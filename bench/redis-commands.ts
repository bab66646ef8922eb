import type { createClient } from 'redis';

// Commands a script runs with redis.call(); INFO commandstats counts them too.
const INSIDE_SCRIPT = new Set(['pttl', 'incr', 'set', 'get']);

export interface CommandsPerRequest {
  /** Commands the app sent: its round trips. */
  readonly sent: number;
  /** Commands its Lua scripts ran inside Redis, at no network cost. */
  readonly inScript: number;
  /** `name per-request` for every command counted. */
  readonly detail: string;
}

/**
 * Redis commands per request from `INFO commandstats`, reset before `run`
 * sends `requests` requests. Use a private Redis: the reset is server-wide.
 */
export async function commandsPerRequest(
  admin: ReturnType<typeof createClient>,
  requests: number,
  run: () => Promise<void>,
): Promise<CommandsPerRequest> {
  await admin.configResetStat();
  await run();
  const stats = await admin.info('commandstats');
  let sent = 0;
  let inScript = 0;
  const detail: string[] = [];
  for (const match of stats.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    const name = match[1] ?? '';
    if (name === 'info' || name === 'config|resetstat') continue;
    const perRequest = Number(match[2]) / requests;
    if (INSIDE_SCRIPT.has(name)) inScript += perRequest;
    else sent += perRequest;
    detail.push(`${name} ${perRequest.toFixed(3)}`);
  }
  return { sent, inScript, detail: detail.join(', ') };
}
