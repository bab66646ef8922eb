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

export interface Provider {
  /** `dry-run`, `openai` or `anthropic`. */
  readonly name: string;
  complete(input: CompletionInput, context: { signal: AbortSignal }): Promise<Completion>;
}

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
function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/**
 * Answers locally, without a network call, so every route works offline.
 * The answer shows what would have been sent: the prompt after redaction.
 */
export function dryRunProvider(): Provider {
  return {
    name: 'dry-run',
    complete({ messages, max_tokens }) {
      const last = messages.at(-1)?.content ?? '';
      const output = `[dry run: no provider key is set] ${String(messages.length)} message(s) would be sent; the last one reads: ${last}`;
      const prompt = messages.map((message) => message.content).join('\n');
      // Like a provider's total: prompt tokens plus the (capped) answer.
      const usage = estimateTokens(prompt) + Math.min(max_tokens, estimateTokens(output));
      return Promise.resolve({ output, usage });
    },
  };
}

async function postJson(
  provider: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  signal: AbortSignal,
): Promise<unknown> {
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
  return response.json();
}

/** OpenAI's Chat Completions API, or any server that speaks it at `baseUrl`. */
export function openAiProvider(apiKey: string, model: string, baseUrl: string): Provider {
  const headers = { authorization: `Bearer ${apiKey}` };
  return {
    name: 'openai',
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
  return {
    name: 'anthropic',
    async complete({ messages, max_tokens }, { signal }) {
      const system = messages
        .filter((message) => message.role === 'system')
        .map((message) => message.content)
        .join('\n\n');
      const answer = (await postJson(
        'anthropic',
        `${baseUrl}/v1/messages`,
        headers,
        {
          model,
          max_tokens,
          ...(system === '' ? {} : { system }),
          messages: messages.filter((message) => message.role !== 'system'),
        },
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

/** Picks the provider from the environment: OpenAI, then Anthropic, else the dry run. */
export function providerFromEnv(env: NodeJS.ProcessEnv): Provider {
  const openAiKey = env.OPENAI_API_KEY;
  if (openAiKey !== undefined && openAiKey !== '') {
    return openAiProvider(
      openAiKey,
      env.OPENAI_MODEL ?? 'gpt-4o-mini',
      baseUrl(env, 'OPENAI_BASE_URL', 'https://api.openai.com/v1'),
    );
  }
  const anthropicKey = env.ANTHROPIC_API_KEY;
  if (anthropicKey !== undefined && anthropicKey !== '') {
    return anthropicProvider(
      anthropicKey,
      env.ANTHROPIC_MODEL ?? 'claude-3-5-haiku-latest',
      baseUrl(env, 'ANTHROPIC_BASE_URL', 'https://api.anthropic.com'),
    );
  }
  return dryRunProvider();
}
