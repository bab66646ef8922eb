import { createServer, type RequestListener } from 'node:http';
import { connect, type AddressInfo } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
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
 * Sends bytes exactly as given (request lines, targets and Host values that
 * HTTP client libraries refuse to produce or would normalise, such as `/../`)
 * and parses the single response.
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
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        resolve(Buffer.concat(chunks));
      });
      // write, not end: a half-closed client socket makes Node drop a response
      // that an async middleware sends later.
      socket.write(
        Buffer.from([...lines, 'Connection: close', '', options.body ?? ''].join('\r\n'), 'latin1'),
      );
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
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }
}

/** One GET with the request target written byte for byte. */
export function rawGet(app: RequestListener, target: string): Promise<RawResponse> {
  return rawRequest(app, [`GET ${target} HTTP/1.1`, 'Host: test']);
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
