import { createServer, type Server, type ServerOptions } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BulwarkConfigError, serverTimeouts } from '../../src/index.js';

// Slow clients over real sockets. No elapsed time is asserted: the client
// writes one piece every TICK_MS and the test counts how many pieces it got
// out before the server closed the connection. With a 200 ms timeout and a
// check every 50 ms that is a handful; with Node's default 30 s check the
// same client is still writing after LIMIT pieces.

const TICK_MS = 25;
const LIMIT = 60;
const SMALL = { headersTimeout: 200, requestTimeout: 400, connectionsCheckingInterval: 50 };

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(options: ServerOptions): Promise<{ port: number; ran: () => number }> {
  let ran = 0;
  const server = createServer(options, (_req, res) => {
    ran++;
    res.end('ok');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, ran: () => ran };
}

/**
 * Writes `head`, then one of `pieces` every tick until the server closes the
 * connection or LIMIT pieces are out; resolves with the count and the first
 * response line, if any.
 */
function trickle(port: number, head: string, piece: (i: number) => string) {
  return new Promise<{ sent: number; status: string }>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let sent = 0;
    let received = '';
    const done = (): void => {
      clearInterval(timer);
      resolve({ sent, status: received.split('\r\n')[0] ?? '' });
    };
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('close', done);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') done();
      else reject(error);
    });
    socket.write(head);
    const timer = setInterval(() => {
      if (sent >= LIMIT) {
        socket.destroy();
        return;
      }
      if (!socket.writable) return;
      socket.write(piece(sent));
      sent++;
    }, TICK_MS);
  });
}

const slowHeaders = (port: number) =>
  trickle(port, 'GET / HTTP/1.1\r\nHost: t\r\n', (i) => `X-Slow-${String(i)}: x\r\n`);

const slowBody = (port: number) =>
  trickle(
    port,
    'POST / HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n',
    () => 'x',
  );

describe('serverTimeouts', () => {
  it('returns the documented defaults', () => {
    expect(serverTimeouts()).toEqual({
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: 1_000,
    });
    expect(serverTimeouts({ headersTimeout: 300, requestTimeout: 600 })).toMatchObject({
      connectionsCheckingInterval: 300,
    });
  });

  it('cuts off a client trickling header lines soon after headersTimeout', async () => {
    const { port, ran } = await listen(serverTimeouts(SMALL));
    const { sent, status } = await slowHeaders(port);
    expect(sent).toBeLessThan(LIMIT / 2);
    expect(status === '' || status.startsWith('HTTP/1.1 408')).toBe(true);
    expect(ran()).toBe(0);
  });

  it('cuts off a client trickling the body soon after requestTimeout', async () => {
    const { port, ran } = await listen(serverTimeouts(SMALL));
    const { sent } = await slowBody(port);
    expect(sent).toBeLessThan(LIMIT / 2);
    // The handler may start (the head arrived); the connection still ends.
    expect(ran()).toBeLessThanOrEqual(1);
  });

  it("is needed: with Node's default check interval the same client keeps writing", async () => {
    const { headersTimeout, requestTimeout } = SMALL;
    const { port } = await listen({ headersTimeout, requestTimeout });
    const { sent } = await slowHeaders(port);
    expect(sent).toBe(LIMIT);
  });

  it.each([
    [{ headersTimeout: 0 }],
    [{ headersTimeout: '10s' }],
    [{ requestTimeout: Number.NaN }],
    [{ keepAliveTimeout: -1 }],
    [{ connectionsCheckingInterval: 1.5 }],
    [{ headersTimeout: 5_000, requestTimeout: 1_000 }],
    [{ headersTimeout: 500, connectionsCheckingInterval: 1_000 }],
    [{ headerTimeout: 5_000 }],
    [null],
  ])('refuses %j', (options) => {
    expect(() => serverTimeouts(options as never)).toThrow(BulwarkConfigError);
  });
});
