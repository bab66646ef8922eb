import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the stub does with the next requests:
 * - `ok`: answers (streamed when the request asks for it);
 * - `fail`: 500 before any byte of an answer;
 * - `hang`: accepts the request and never answers;
 * - `stall`: streams the first piece, then sends nothing more;
 * - `break`: streams the first piece, then cuts the connection.
 */
export type ProviderStubMode = 'ok' | 'fail' | 'hang' | 'stall' | 'break';

export type ProviderWireFormat = 'openai' | 'anthropic';

/** One request as the stub received it. */
export interface ProviderStubRequest {
  format: ProviderWireFormat;
  /** `authorization` (OpenAI) or `x-api-key` (Anthropic). */
  credential: string | undefined;
  stream: boolean;
  body: {
    model?: string;
    max_tokens?: number;
    system?: string;
    messages?: { role: string; content: string }[];
    stream?: boolean;
    stream_options?: unknown;
  };
}

const CHAT_PATH = '/v1/chat/completions';
const MESSAGES_PATH = '/v1/messages';

/**
 * A stand-in for OpenAI's Chat Completions and Anthropic's Messages APIs on
 * loopback, in both wire formats, streamed (server-sent events) and not. It
 * records every request and, in order, what happened to each connection
 * (`log`), so a test can see a client abort reach the provider.
 */
export class ProviderStub {
  mode: ProviderStubMode = 'ok';
  /** The answer, in the pieces a stream sends (one text delta each). */
  pieces: string[] = ['stub ', 'answer'];
  /** Token usage reported; `undefined` reports none, as some servers do. */
  usage: { input: number; output: number } | undefined = { input: 5, output: 2 };
  readonly received: ProviderStubRequest[] = [];
  /** `request <n>`, `answered <n>`, `closed early <n>`, in the order they happened. */
  readonly log: string[] = [];
  readonly #server: Server;
  #base = '';

  constructor() {
    this.#server = createServer((req, res) => {
      this.#handle(req, res);
    });
  }

  /** Starts listening on 127.0.0.1 and returns the environment that points the example at it. */
  async listen(): Promise<{ OPENAI_BASE_URL: string; ANTHROPIC_BASE_URL: string }> {
    await new Promise<void>((done) => this.#server.listen(0, '127.0.0.1', done));
    const { port } = this.#server.address() as AddressInfo;
    this.#base = `http://127.0.0.1:${String(port)}`;
    return { OPENAI_BASE_URL: `${this.#base}/v1`, ANTHROPIC_BASE_URL: this.#base };
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((done) => this.#server.close(done));
  }

  /** Number of connections the client closed before the stub had finished answering. */
  get closedEarly(): number {
    return this.log.filter((line) => line.startsWith('closed early')).length;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const format: ProviderWireFormat | undefined =
      req.url === CHAT_PATH ? 'openai' : req.url === MESSAGES_PATH ? 'anthropic' : undefined;
    if (req.method !== 'POST' || format === undefined) {
      res.writeHead(404).end();
      return;
    }
    let raw = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const body = JSON.parse(raw) as ProviderStubRequest['body'];
      const stream = body.stream === true;
      const n = this.received.push({
        format,
        credential: format === 'openai' ? req.headers.authorization : headerText(req, 'x-api-key'),
        stream,
        body,
      });
      this.log.push(`request ${String(n)}`);
      res.on('close', () => {
        this.log.push(`${res.writableFinished ? 'answered' : 'closed early'} ${String(n)}`);
      });
      this.#answer(format, stream, res);
    });
  }

  #answer(format: ProviderWireFormat, stream: boolean, res: ServerResponse): void {
    const mode = this.mode;
    if (mode === 'hang') return;
    if (mode === 'fail') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"overloaded"}}');
      return;
    }
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(this.#whole(format)));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const events = format === 'openai' ? this.#openAiEvents() : this.#anthropicEvents();
    if (mode === 'ok') {
      for (const event of events) res.write(event);
      res.end();
      return;
    }
    // The events up to and including the first text delta, then a stall or a cut.
    const marker = format === 'openai' ? '"delta":{"content"' : '"text_delta"';
    const firstText = events.findIndex((event) => event.includes(marker));
    const head = events.slice(0, firstText + 1).join('');
    // Cut only once the pieces are on the wire, so the client sees them first.
    res.write(head, () => {
      if (mode === 'break') res.destroy();
    });
  }

  #whole(format: ProviderWireFormat): unknown {
    const text = this.pieces.join('');
    const usage = this.usage;
    if (format === 'openai') {
      return {
        choices: [{ index: 0, message: { role: 'assistant', content: text } }],
        ...(usage === undefined
          ? {}
          : {
              usage: {
                prompt_tokens: usage.input,
                completion_tokens: usage.output,
                total_tokens: usage.input + usage.output,
              },
            }),
      };
    }
    return {
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text }],
      ...(usage === undefined
        ? {}
        : { usage: { input_tokens: usage.input, output_tokens: usage.output } }),
    };
  }

  #openAiEvents(): string[] {
    const data = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
    const events = [
      data({
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { role: 'assistant' } }],
      }),
      ...this.pieces.map((content) =>
        data({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] }),
      ),
      data({
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
      }),
    ];
    if (this.usage !== undefined) {
      const { input, output } = this.usage;
      events.push(
        data({
          object: 'chat.completion.chunk',
          choices: [],
          usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
        }),
      );
    }
    events.push('data: [DONE]\n\n');
    return events;
  }

  #anthropicEvents(): string[] {
    const event = (type: string, value: Record<string, unknown>) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, ...value })}\n\n`;
    const usage = this.usage;
    return [
      event('message_start', {
        message: {
          role: 'assistant',
          content: [],
          ...(usage === undefined
            ? {}
            : { usage: { input_tokens: usage.input, output_tokens: 1 } }),
        },
      }),
      event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      event('ping', {}),
      ...this.pieces.map((text) =>
        event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }),
      ),
      event('content_block_stop', { index: 0 }),
      event('message_delta', {
        delta: { stop_reason: 'end_turn' },
        ...(usage === undefined ? {} : { usage: { output_tokens: usage.output } }),
      }),
      event('message_stop', {}),
    ];
  }
}

function headerText(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}
