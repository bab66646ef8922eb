/**
 * POST /v1/complete, answered in one piece or streamed (`stream: true`) as
 * server-sent events, and the provider call behind it: guardOutbound before
 * anything leaves, costLimit around it, circuitBreaker through it, every
 * streamed piece through createStreamRedactor, a sample through outputAudit.
 */
import { createHash } from 'node:crypto';
import type { Express, Request, Response } from 'express';
import * as z from 'zod';
import {
  BulwarkError,
  circuitBreaker,
  createStreamRedactor,
  guardOutbound,
  outputAudit,
  type Breaker,
  type CircuitCallContext,
  type CostLimitMiddleware,
  type RedactionCounts,
  type RedisClientLike,
  type RouteAgnosticHandler,
  type StreamRedactor,
  validate,
} from '../src/index.js';
import {
  estimateTokens,
  isProviderFailure,
  type ChatMessage,
  type Completion,
  type CompletionInput,
  type Provider,
} from './provider.js';

export const Complete = z.strictObject({
  messages: z
    .array(
      z.strictObject({
        role: z.enum(['system', 'user', 'assistant']),
        content: z.string().min(1).max(32_000),
      }),
    )
    .min(1)
    .max(50),
  max_tokens: z.number().int().min(1).max(4096),
  stream: z.boolean().optional(),
});

/** A streamed call's moving parts, read again after a failure to settle what was spent. */
interface StreamSink {
  readonly redactor: StreamRedactor;
  /** Called once, at the provider's first piece: the response starts there. */
  start(): void;
  /** Writes redacted text to the client. */
  write(text: string): void;
  started: boolean;
  /** Characters the provider sent, for a usage estimate when it reports none. */
  receivedChars: number;
  /** The redacted text sent, for the cache and the audit. */
  sent: string;
}

interface ProviderJob {
  provider: Provider;
  input: CompletionInput;
  stream?: StreamSink;
}

export interface Completions {
  /** Calls the provider in one piece; a refusal the caller caused becomes a 503 problem, never a 500. */
  call(input: CompletionInput): Promise<{ output: string; usage: number; stale: boolean }>;
  /** Mounts POST /v1/complete behind `before` (authentication): validation, guard, budget, then the answer. */
  mount(app: Express, before: readonly RouteAgnosticHandler[]): void;
  readonly breaker: Breaker<ProviderJob, Completion>;
}

export interface CompletionsOptions {
  /** The provider for this request: a stored key, the environment's, or the dry run. */
  resolve: () => Promise<Provider>;
  budget: CostLimitMiddleware;
  timeoutMs: number;
  cache: { store: 'memory' | RedisClientLike; prefix: string };
  /** Fraction of exchanges recorded as `llm.output` events. */
  auditRate: number;
}

function promptTokens(messages: readonly ChatMessage[]): number {
  return estimateTokens(messages.map((message) => message.content).join('\n'));
}

/** One server-sent event; JSON keeps every newline of the text inside `data`. */
function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

async function runJob(job: ProviderJob, context: CircuitCallContext): Promise<Completion> {
  const { provider, input, stream } = job;
  if (stream === undefined) return provider.complete(input, context);
  const end = await provider.stream(input, {
    signal: context.signal,
    onText(text) {
      context.progress();
      if (!stream.started) stream.start();
      stream.receivedChars += text.length;
      const safe = stream.redactor.push(text);
      if (safe !== '') stream.write(safe);
    },
  });
  if (!stream.started) stream.start();
  const rest = stream.redactor.end();
  if (rest !== '') stream.write(rest);
  return {
    output: stream.sent,
    usage:
      end.usage ?? promptTokens(input.messages) + Math.ceil(Math.max(1, stream.receivedChars) / 4),
  };
}

export function createCompletions(options: CompletionsOptions): Completions {
  const { resolve, budget, timeoutMs, cache, auditRate } = options;
  const audit = outputAudit({ rate: auditRate });
  const breaker = circuitBreaker(runJob, {
    name: 'provider',
    timeoutMs,
    isFailure: isProviderFailure,
    cache: {
      ...cache,
      ttlMs: 600_000,
      // One answer per provider and prompt, streamed or not; never the sink or the key.
      key: (job) =>
        createHash('sha256')
          .update(JSON.stringify([job.provider.name, job.provider.model, job.input]))
          .digest('base64url'),
    },
  });

  async function call(
    input: CompletionInput,
  ): Promise<{ output: string; usage: number; stale: boolean }> {
    const provider = await resolve();
    try {
      const result = await breaker.call({ provider, input });
      return {
        output: result.value.output,
        usage: result.stale ? 0 : result.value.usage,
        stale: result.stale,
      };
    } catch (error) {
      if (error instanceof BulwarkError) throw error;
      throw new BulwarkError('upstream.unavailable', {
        detail: 'The provider refused the request.',
        cause: error,
      });
    }
  }

  async function answer(
    body: z.output<typeof Complete>,
    req: Request,
    res: Response,
  ): Promise<void> {
    const { max_tokens, stream } = body;
    const guarded = res.locals.guarded as {
      payload: { messages: ChatMessage[] };
      redacted: RedactionCounts;
    };
    const input: CompletionInput = { messages: guarded.payload.messages, max_tokens };
    if (stream === true) {
      await answerStream(req, res, input, guarded.redacted);
      return;
    }
    let result: Awaited<ReturnType<typeof call>>;
    try {
      result = await call(input);
    } catch (error) {
      await budget.settle(req, 0); // nothing was spent upstream
      throw error;
    }
    await budget.settle(req, result.usage);
    // Only a sampling audit needs the model's name, which costs a store read.
    if (!result.stale && audit.rate > 0) {
      const provider = await resolve();
      audit.sample(req, {
        model: provider.model,
        prompt: input.messages,
        output: result.output,
        usage: { total: result.usage },
      });
    }
    res.json({
      output: result.output,
      redacted: guarded.redacted,
      ...(result.stale ? { stale: true } : {}),
    });
  }

  async function answerStream(
    req: Request,
    res: Response,
    input: CompletionInput,
    redacted: RedactionCounts,
  ): Promise<void> {
    const provider = await resolve();
    // A client that leaves aborts the provider request at once.
    const client = new AbortController();
    res.on('close', () => {
      if (!res.writableEnded) client.abort(new Error('client disconnected'));
    });
    const sink: StreamSink = {
      redactor: createStreamRedactor(),
      started: false,
      receivedChars: 0,
      sent: '',
      start() {
        sink.started = true;
        res.status(200);
        res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
        res.setHeader('Cache-Control', 'no-store');
        // Proxies such as nginx would otherwise hold the events back.
        res.setHeader('X-Accel-Buffering', 'no');
        res.flushHeaders();
      },
      write(text) {
        sink.sent += text;
        res.write(sse('delta', { text }));
      },
    };

    let result: Awaited<ReturnType<typeof breaker.call>>;
    try {
      result = await breaker.call({ provider, input, stream: sink }, { signal: client.signal });
    } catch (error) {
      // What the provider produced was spent, whether the client or the provider broke off.
      const spent = sink.started
        ? promptTokens(input.messages) + Math.ceil(sink.receivedChars / 4)
        : 0;
      await budget.settle(req, spent);
      if (client.signal.aborted) return;
      const problem =
        error instanceof BulwarkError
          ? error
          : new BulwarkError('upstream.unavailable', {
              detail: sink.started
                ? 'The provider stream broke off.'
                : 'The provider refused the request.',
              cause: error,
            });
      if (!sink.started) throw problem;
      res.end(sse('error', problem.toProblem()));
      return;
    }

    if (result.stale) {
      // A cached answer may come from a call answered in one piece: redact it here too.
      sink.start();
      const redactor = createStreamRedactor();
      const text = redactor.push(result.value.output) + redactor.end();
      if (text !== '') res.write(sse('delta', { text }));
      await budget.settle(req, 0);
      res.end(sse('done', { redacted, output_redacted: redactor.counts, stale: true }));
      return;
    }
    await budget.settle(req, result.value.usage);
    audit.sample(req, {
      model: provider.model,
      prompt: input.messages,
      output: result.value.output,
      usage: { total: result.value.usage },
    });
    res.end(
      sse('done', {
        redacted,
        output_redacted: sink.redactor.counts,
        usage: result.value.usage,
      }),
    );
  }

  function mount(app: Express, before: readonly RouteAgnosticHandler[]): void {
    app.post(
      '/v1/complete',
      ...before,
      validate({ body: Complete }),
      function guardPrompt(req, res, next) {
        // Redact before anything else sees the prompt; the budget is charged only for what may leave.
        res.locals.guarded = guardOutbound({ messages: req.body.messages }, { req });
        next();
      },
      budget,
      function completeRoute(req, res, next) {
        answer(req.body, req, res).catch(next);
      },
    );
  }

  return { call, breaker, mount };
}
