import { once } from 'node:events';
import { request, type Agent, type IncomingMessage } from 'node:http';
import { BENCH_BODY, BENCH_ORIGIN } from './apps/shared.js';
import { benchAccessToken } from './token.js';

/** The headers of the bench request, POST /v1/echo: a JSON body, a bearer token, an Origin. */
export async function echoHeaders(): Promise<Record<string, string>> {
  return {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(BENCH_BODY)),
    origin: BENCH_ORIGIN,
    authorization: `Bearer ${await benchAccessToken()}`,
  };
}

/**
 * Sends `count` bench requests one after another on the agent's one keep-alive
 * connection. No deadline: under valgrind a request that meets cold code can
 * take seconds.
 */
export async function sendEcho(
  agent: Agent,
  port: number,
  count: number,
  headers: Readonly<Record<string, string>>,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const req = request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: '/v1/echo',
      headers,
      agent,
    });
    req.end(BENCH_BODY);
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.resume();
    await once(res, 'end');
    if (res.statusCode !== 200) throw new Error(`answered ${String(res.statusCode)}`);
  }
}
