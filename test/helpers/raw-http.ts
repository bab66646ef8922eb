<<<<<<< HEAD
import { createServer, type RequestListener } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
=======
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type { Express } from 'express';
>>>>>>> input

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
<<<<<<< HEAD
 * Sends bytes exactly as given (request lines and Host values that HTTP client
 * libraries refuse to produce) and parses the single response.
 */
export async function rawRequest(
  app: RequestListener,
  lines: readonly string[],
  options: { body?: string } = {},
): Promise<RawResponse> {
  const server = createServer(app);
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  try {
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        resolve(Buffer.concat(chunks).toString('latin1'));
      });
      socket.write(
        Buffer.from([...lines, 'Connection: close', '', options.body ?? ''].join('\r\n'), 'latin1'),
      );
    });
    const split = text.indexOf('\r\n\r\n');
    const head = text.slice(0, split).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { status: Number(head[0]?.split(' ')[1]), headers, body: text.slice(split + 4) };
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }
}
=======
 * Sends one GET with the request target written byte for byte. supertest
 * parses the URL first, which collapses `/../` and re-encodes characters, so
 * traversal payloads would not reach the app as an attacker sends them.
 */
export async function rawGet(app: Express, target: string): Promise<RawResponse> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        // write, not end: a half-closed client socket makes Node drop a response
        // that an async middleware sends later.
        socket.write(
          Buffer.from(
            `GET ${target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`,
            'latin1',
          ),
        );
      });
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => {
        resolve(Buffer.concat(chunks));
      });
      socket.on('error', reject);
    });
    const split = raw.indexOf('\r\n\r\n');
    const [statusLine = '', ...headerLines] = raw
      .subarray(0, split)
      .toString('latin1')
      .split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body = raw.subarray(split + 4);
    if (headers['transfer-encoding'] === 'chunked') body = unchunk(body);
    return { status: Number(statusLine.split(' ')[1]), headers, body: body.toString('utf8') };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

function unchunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let rest = body;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.subarray(0, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) return Buffer.concat(parts);
    parts.push(rest.subarray(eol + 2, eol + 2 + size));
    rest = rest.subarray(eol + 2 + size + 2);
  }
}

/**
 * How a client puts a path on the wire: bytes outside printable ASCII (and
 * space, `?`, `#`) percent-encoded as UTF-8; everything else, including `%`,
 * `\` and `..`, sent as is.
 */
export function onTheWire(value: string): string {
  return Array.from(value, (char) =>
    /^[\x21-\x7e]$/.test(char) && char !== '?' && char !== '#' ? char : encodeURIComponent(char),
  ).join('');
}
>>>>>>> input
