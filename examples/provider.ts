import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { BulwarkConfigError } from '../src/index.js';

/** One chat message as the example's routes accept it. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface CompletionInput {
  messages: ChatMessage[];
  max_tokens: number;
}

export interface Completion {
  output: string;
  /** Tokens the call really used, for `costLimit().settle()`. */
  usage: number;
}

/** How a streamed answer ended: the usage the provider reported, if it did. */
export interface StreamEnd {
  usage: number | undefined;
}

export interface StreamContext {
  signal: AbortSignal;
  /** Receives each piece of text as the provider sends it. */
  onText: (text: string) => void;
}

export interface Provider {
  /** `dry-run`, `openai` or `anthropic`. */
  readonly name: string;
  readonly model: string;
  complete(input: CompletionInput, context: { signal: AbortSignal }): Promise<Completion>;
  /** Streams the answer through `onText`; resolves when the provider ends the stream. */
  stream(input: CompletionInput, context: StreamContext): Promise<StreamEnd>;
}

/** Where each provider lives and which model it runs: from the environment only, never a request. */
export interface ProviderEndpoint {
  baseUrl: string;
  model: string;
  /** The key from the environment, if any; a stored key wins over it. */
  envKey: string | undefined;
}

export type ProviderName = 'openai' | 'anthropic';
export const PROVIDER_NAMES: readonly ProviderName[] = ['openai', 'anthropic'];
export type ProviderEndpoints = Record<ProviderName, ProviderEndpoint>;

/**
 * A provider answered with an error status. The message holds the status only:
 * a provider's error body can quote the prompt, and the request carried the key.
 */
export class ProviderError extends Error {
  readonly status: number;

  constructor(provider: string, status: number) {
    super(`${provider} answered ${String(status)}`);
    this.name = 'ProviderError';
    this.status = status;
  }
}

/** A stream that broke off, or carried an error event, after it had started. */
export class ProviderStreamError extends Error {
  constructor(provider: string, what: string) {
    super(`${provider} stream ${what}`);
    this.name = 'ProviderStreamError';
  }
}

/**
 * Whether an error should count against the provider's circuit. A 4xx (other
 * than 408 and 429) is the caller's fault and must not open the circuit for
 * everyone; network errors, timeouts and 5xx are the provider's.
 */
export function isProviderFailure(error: unknown): boolean {
  if (!(error instanceof ProviderError)) return true;
  return error.status >= 500 || error.status === 408 || error.status === 429;
}

/** Rough token count (about four characters a token), enough to settle a dry-run budget. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/**
 * Answers locally, without a network call, so every route works offline.
 * The answer shows what would have been sent: the prompt after redaction.
 */
export function dryRunProvider(): Provider {
  const answer = ({ messages, max_tokens }: CompletionInput): Completion => {
    const last = messages.at(-1)?.content ?? '';
    const output = `[dry run: no provider key is set] ${String(messages.length)} message(s) would be sent; the last one reads: ${last}`;
    const prompt = messages.map((message) => message.content).join('\n');
    // Like a provider's total: prompt tokens plus the (capped) answer.
    const usage = estimateTokens(prompt) + Math.min(max_tokens, estimateTokens(output));
    return { output, usage };
  };
  return {
    name: 'dry-run',
    model: 'dry-run',
    complete(input) {
      return Promise.resolve(answer(input));
    },
    stream(input, { onText }) {
      const { output, usage } = answer(input);
      // Word by word, the way a provider streams.
      for (const piece of output.split(/(?<= )/)) onText(piece);
      return Promise.resolve({ usage });
    },
  };
}

async function post(
  provider: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  signal: AbortSignal,
): Promise<Response> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal,
    redirect: 'error',
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new ProviderError(provider, response.status);
  }
  return response;
}

async function postJson(
  provider: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  signal: AbortSignal,
): Promise<unknown> {
  return (await post(provider, url, headers, body, signal)).json();
}

/** Largest server-sent event the example accepts from a provider. */
const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Reads a provider's `text/event-stream` and hands each event to `onEvent`,
 * which returns `true` at the provider's own end marker. A stream that closes
 * before that marker broke off.
 */
async function readEvents(
  provider: string,
  response: Response,
  onEvent: (event: EventSourceMessage) => boolean,
): Promise<void> {
  if (response.body === null) throw new ProviderStreamError(provider, 'had no body');
  // Written by the parser's callbacks, read after each feed.
  const state: { ended: boolean; failure: Error | undefined } = {
    ended: false,
    failure: undefined,
  };
  const parser = createParser({
    onEvent(event) {
      if (state.ended || state.failure !== undefined) return;
      try {
        state.ended = onEvent(event);
      } catch (error) {
        state.failure =
          error instanceof Error ? error : new ProviderStreamError(provider, 'failed');
      }
    },
    onError() {
      state.failure = new ProviderStreamError(provider, 'sent a malformed event');
    },
    maxBufferSize: MAX_EVENT_BYTES,
  });
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      if (state.failure !== undefined) throw state.failure;
      if (state.ended) return;
    }
  } finally {
    reader.releaseLock();
    if (state.ended || state.failure !== undefined) {
      await response.body.cancel().catch(() => undefined);
    }
  }
  parser.feed(decoder.decode());
  if (state.failure !== undefined) throw state.failure;
  if (!state.ended) throw new ProviderStreamError(provider, 'ended before its end marker');
}

function parseData(provider: string, data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    throw new ProviderStreamError(provider, 'sent an event that is not JSON');
  }
}

/** OpenAI's Chat Completions API, or any server that speaks it at `baseUrl`. */
export function openAiProvider(apiKey: string, model: string, baseUrl: string): Provider {
  const headers = { authorization: `Bearer ${apiKey}` };
  return {
    name: 'openai',
    model,
    async stream({ messages, max_tokens }, { signal, onText }) {
      const response = await post(
        'openai',
        `${baseUrl}/chat/completions`,
        headers,
        { model, messages, max_tokens, stream: true, stream_options: { include_usage: true } },
        signal,
      );
      let usage: number | undefined;
      await readEvents('openai', response, ({ data }) => {
        if (data === '[DONE]') return true;
        const chunk = parseData('openai', data) as {
          error?: unknown;
          choices?: { delta?: { content?: string | null } }[];
          usage?: { total_tokens?: number } | null;
        };
        if (chunk.error !== undefined) throw new ProviderStreamError('openai', 'sent an error');
        const text = chunk.choices?.[0]?.delta?.content;
        if (typeof text === 'string' && text !== '') onText(text);
        if (typeof chunk.usage?.total_tokens === 'number') usage = chunk.usage.total_tokens;
        return false;
      });
      return { usage };
    },
    async complete({ messages, max_tokens }, { signal }) {
      const answer = (await postJson(
        'openai',
        `${baseUrl}/chat/completions`,
        headers,
        { model, messages, max_tokens },
        signal,
      )) as {
        choices?: { message?: { content?: string | null } }[];
        usage?: { total_tokens?: number };
      };
      return {
        output: answer.choices?.[0]?.message?.content ?? '',
        usage: answer.usage?.total_tokens ?? max_tokens,
      };
    },
  };
}

/** Anthropic's Messages API: system prompts go in their own field. */
export function anthropicProvider(apiKey: string, model: string, baseUrl: string): Provider {
  const headers = { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' };
  const request = ({ messages, max_tokens }: CompletionInput) => {
    const system = messages
      .filter((message) => message.role === 'system')
      .map((message) => message.content)
      .join('\n\n');
    return {
      model,
      max_tokens,
      ...(system === '' ? {} : { system }),
      messages: messages.filter((message) => message.role !== 'system'),
    };
  };
  return {
    name: 'anthropic',
    model,
    async stream(input, { signal, onText }) {
      const response = await post(
        'anthropic',
        `${baseUrl}/v1/messages`,
        headers,
        { ...request(input), stream: true },
        signal,
      );
      let input_tokens: number | undefined;
      let output_tokens: number | undefined;
      await readEvents('anthropic', response, ({ data }) => {
        const event = parseData('anthropic', data) as {
          type?: string;
          message?: { usage?: { input_tokens?: number; output_tokens?: number } };
          delta?: { type?: string; text?: string };
          usage?: { output_tokens?: number };
        };
        switch (event.type ?? '') {
          case 'message_start':
            input_tokens = event.message?.usage?.input_tokens;
            output_tokens = event.message?.usage?.output_tokens;
            return false;
          case 'content_block_delta':
            if (event.delta?.type === 'text_delta' && typeof event.delta.text === 'string') {
              onText(event.delta.text);
            }
            return false;
          case 'message_delta':
            // Anthropic reports the output count so far, not an increment.
            if (typeof event.usage?.output_tokens === 'number') {
              output_tokens = event.usage.output_tokens;
            }
            return false;
          case 'message_stop':
            return true;
          case 'error':
            throw new ProviderStreamError('anthropic', 'sent an error');
          default:
            return false;
        }
      });
      const usage =
        input_tokens === undefined && output_tokens === undefined
          ? undefined
          : (input_tokens ?? 0) + (output_tokens ?? 0);
      return { usage };
    },
    async complete(input, { signal }) {
      const { max_tokens } = input;
      const answer = (await postJson(
        'anthropic',
        `${baseUrl}/v1/messages`,
        headers,
        request(input),
        signal,
      )) as {
        content?: { type?: string; text?: string }[];
        usage?: { input_tokens?: number; output_tokens?: number };
      };
      return {
        output: (answer.content ?? [])
          .filter((part) => part.type === 'text')
          .map((part) => part.text ?? '')
          .join(''),
        usage: (answer.usage?.input_tokens ?? 0) + (answer.usage?.output_tokens ?? max_tokens),
      };
    },
  };
}

/** A base URL from the environment: http(s), no credentials, no trailing slash. */
function baseUrl(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new BulwarkConfigError('example server', [
      `${name} must be an http(s) URL without credentials`,
    ]);
  }
  return raw.replace(/\/+$/, '');
}

/** Each provider's base URL, model and (optional) key, from the environment. */
export function providerEndpointsFromEnv(env: NodeJS.ProcessEnv): ProviderEndpoints {
  const key = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    openai: {
      baseUrl: baseUrl(env, 'OPENAI_BASE_URL', 'https://api.openai.com/v1'),
      model: env.OPENAI_MODEL ?? 'gpt-4o-mini',
      envKey: key('OPENAI_API_KEY'),
    },
    anthropic: {
      baseUrl: baseUrl(env, 'ANTHROPIC_BASE_URL', 'https://api.anthropic.com'),
      model: env.ANTHROPIC_MODEL ?? 'claude-3-5-haiku-latest',
      envKey: key('ANTHROPIC_API_KEY'),
    },
  };
}

/** The provider `name` at its configured endpoint, calling with `apiKey`. */
export function providerWithKey(
  name: ProviderName,
  apiKey: string,
  endpoints: ProviderEndpoints,
): Provider {
  const { baseUrl: url, model } = endpoints[name];
  return name === 'openai'
    ? openAiProvider(apiKey, model, url)
    : anthropicProvider(apiKey, model, url);
}

/** Picks the provider from the environment: OpenAI, then Anthropic, else the dry run. */
export function providerFromEnv(env: NodeJS.ProcessEnv): Provider {
  const endpoints = providerEndpointsFromEnv(env);
  for (const name of PROVIDER_NAMES) {
    const key = endpoints[name].envKey;
    if (key !== undefined) return providerWithKey(name, key, endpoints);
  }
  return dryRunProvider();
}
