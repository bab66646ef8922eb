import { get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express, Request, Response } from 'express';

/** One held request's objects. */
export type Held = readonly [Request, Response];

function fetchHeld(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // A connection each: both requests must be at the route at the same time.
    get({ port, host: '127.0.0.1', path: '/held', agent: false }, (res: IncomingMessage) => {
      res.resume();
      res.once('end', resolve);
    }).once('error', reject);
  });
}

/**
 * Adds GET /held to `app`, serves it with `serve`, holds two concurrent
 * requests at that route and returns what `inspect` makes of their objects,
 * for the fixtures that ask V8 about hidden classes.
 */
export async function inspectTwoHeld<T>(
  app: Express,
  serve: (app: Express) => Server,
  inspect: (first: Held, second: Held) => T,
): Promise<T> {
  let result: { value: T } | undefined;
  const held: Held[] = [];
  app.get('/held', (req, res) => {
    held.push([req, res]);
    if (held.length < 2) return;
    const [first, second] = held as [Held, Held];
    result = { value: inspect(first, second) };
    for (const [, response] of held) response.end('ok');
  });
  const server = serve(app);
  await new Promise<void>((resolve) => {
    if (server.listening) resolve();
    else server.once('listening', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await Promise.all([fetchHeld(port), fetchHeld(port)]);
  await new Promise((resolve) => server.close(resolve));
  if (result === undefined) throw new Error('the route never held two requests');
  return result.value;
}
