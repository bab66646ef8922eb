import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/redis.js';
import { ExampleProcess, expectProblem } from './example-process.js';

// The example's provider route against a local stand-in for OpenAI's API
// (OPENAI_BASE_URL), to see what really leaves: the redacted prompt, the key
// in its header and nowhere else, and the circuit breaker's stale answers and
// aborted calls when the provider fails or hangs.

const FAKE_PROVIDER_KEY = 'sk-test-FAKE-provider-key-0123456789';
const ADMIN_PASSWORD = 'Owner-Passw0rd-test!';

type StubMode = 'ok' | 'fail' | 'hang';

interface Received {
  authorization: string | undefined;
  body: { model: string; max_tokens: number; messages: { role: string; content: string }[] };
}

class ProviderStub {
  mode: StubMode = 'ok';
  readonly received: Received[] = [];
  aborted = 0;
  readonly server: Server;

  constructor() {
    this.server = createServer((req: IncomingMessage, res) => {
      let raw = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk));
      req.on('end', () => {
        this.received.push({
          authorization: req.headers.authorization,
          body: JSON.parse(raw) as Received['body'],
        });
        if (this.mode === 'hang') {
          res.on('close', () => {
            if (!res.writableEnded) this.aborted++;
          });
          return;
        }
        if (this.mode === 'fail') {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"error":{"message":"overloaded"}}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            choices: [{ message: { content: 'stub answer' } }],
            usage: { total_tokens: 7 },
          }),
        );
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${String((this.server.address() as AddressInfo).port)}/v1`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((done) => this.server.close(done));
  }
}

describe('example server with a provider key', () => {
  const stub = new ProviderStub();
  let server: ExampleProcess;
  let token: string;

  beforeAll(async () => {
    const base = await stub.listen();
    server = await ExampleProcess.start({
      PORT: String(await freePort()),
      ADMIN_PASSWORD,
      OPENAI_API_KEY: FAKE_PROVIDER_KEY,
      OPENAI_BASE_URL: base,
      OPENAI_MODEL: 'test-model',
      // The provider deadline is 80 % of the request deadline: 1.6 s.
      REQUEST_TIMEOUT_MS: '2000',
    });
    const res = await server.fetch('/auth/login', {
      json: { username: 'admin', password: ADMIN_PASSWORD },
    });
    token = ((await res.json()) as { access_token: string }).access_token;
  });

  afterAll(async () => {
    await (server as ExampleProcess | undefined)?.stop();
    await stub.close();
  });

  const complete = (content: string): Promise<Response> =>
    server.fetch('/v1/complete', {
      token,
      json: { messages: [{ role: 'user', content }], max_tokens: 64 },
    });

  it('sends the redacted prompt with the key in its header, and returns the answer', async () => {
    const res = await complete('Summarise the mail from jane.test@example.com');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ output: 'stub answer', redacted: { email: 1 } });
    const sent = stub.received.at(-1)!;
    expect(sent.authorization).toBe(`Bearer ${FAKE_PROVIDER_KEY}`);
    expect(sent.body).toEqual({
      model: 'test-model',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Summarise the mail from [REDACTED:email]' }],
    });
    expect(server.stdout).toContain('provider: openai');
  });

  it('serves the last good answer, marked stale, while the provider fails', async () => {
    stub.mode = 'fail';
    const res = await complete('Summarise the mail from jane.test@example.com');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ output: 'stub answer', stale: true });
  });

  it('answers 503 upstream.unavailable when there is no answer to fall back on', async () => {
    stub.mode = 'fail';
    await expectProblem(await complete('a prompt never answered'), 503, 'upstream.unavailable');
  });

  it('aborts a hanging provider call at the deadline', async () => {
    stub.mode = 'hang';
    const before = stub.aborted;
    await expectProblem(
      await complete('a prompt the provider sits on'),
      503,
      'upstream.unavailable',
    );
    await expect.poll(() => stub.aborted, { timeout: 5000 }).toBeGreaterThan(before);
  });

  it('never writes the provider key to its output', () => {
    expect(server.stdout + server.stderr).not.toContain(FAKE_PROVIDER_KEY);
  });

  it('finishes an in-flight request after SIGTERM, then exits 0', async () => {
    stub.mode = 'hang';
    const count = stub.received.length;
    const inFlight = complete('a prompt still in flight at shutdown');
    await expect.poll(() => stub.received.length, { timeout: 5000 }).toBeGreaterThan(count);
    const stopped = server.stop();
    const res = await inFlight;
    await expectProblem(res, 503, 'upstream.unavailable');
    expect(res.headers.get('connection')).toBe('close');
    expect(await stopped).toBe(0);
  });
});
