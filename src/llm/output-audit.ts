import type { Request } from 'express';
import { securityEvents } from '../events.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import type { RedactionCounts } from '../redaction/categories.js';
import { redactorFor, type RedactOptions } from '../redaction/redact.js';

export interface OutputAuditOptions {
  /** Fraction of exchanges recorded, from 0 (none) to 1 (all); e.g. `config.llm.outputAuditRate`. */
  rate: number;
  /** Characters kept of each text, after redaction. @default 2000 */
  maxChars?: number;
  /**
   * How the texts are redacted. @default every category. Pass one options
   * object (not a fresh literal per call) so it is compiled once.
   */
  redaction?: RedactOptions;
  /** Returns a number in [0, 1); a record is kept when it is below `rate`. @default Math.random */
  random?: () => number;
}

/** Token counts as a provider reports them; any may be missing. */
export interface OutputAuditUsage {
  input?: number;
  output?: number;
  total?: number;
}

/** One exchange with a model: what was sent and what came back. */
export interface OutputAuditRecord {
  model?: string;
  /** The prompt: a text, or chat messages (kept as `role: content` lines). */
  prompt: string | readonly { readonly role: string; readonly content: string }[];
  output: string;
  usage?: OutputAuditUsage;
}

export interface OutputAudit {
  readonly rate: number;
  /**
   * Draws against `rate`; when the exchange is drawn, emits one `llm.output`
   * event with the redacted, capped texts and returns `true`.
   */
  sample(req: Request | undefined, record: OutputAuditRecord): boolean;
}

const KNOWN: KnownKeys<OutputAuditOptions> = {
  rate: true,
  maxChars: true,
  redaction: true,
  random: true,
};

const DEFAULT_MAX_CHARS = 2000;

function promptText(prompt: OutputAuditRecord['prompt']): string {
  if (typeof prompt === 'string') return prompt;
  return prompt.map((message) => `${message.role}: ${message.content}`).join('\n');
}

/**
 * Counts as `{category, count}` pairs: a category named like a secret key
 * (`api_key`) would otherwise have its count blanked by the event redactor.
 */
function mergeCounts(
  a: RedactionCounts,
  b: RedactionCounts,
): { category: string; count: number }[] {
  const merged = new Map(Object.entries(a));
  for (const [category, count] of Object.entries(b)) {
    merged.set(category, (merged.get(category) ?? 0) + count);
  }
  return [...merged].map(([category, count]) => ({ category, count }));
}

function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Samples a fraction of a model's exchanges for review (the playbooks' "log
 * and randomly audit outputs"): each drawn exchange becomes one `llm.output`
 * security event carrying the request id, the caller (API key id or user),
 * the model, token counts and the prompt and answer, both redacted and then
 * capped at `maxChars`. The raw texts never reach the event.
 *
 * @param options.rate fraction recorded, 0 to 1
 * @param [options.maxChars=2000]
 * @param [options.random=Math.random] inject a seeded source in tests
 * @example
 * const audit = outputAudit({ rate: config.llm.outputAuditRate });
 * const answer = await provider.complete(payload);
 * audit.sample(req, { model, prompt: payload.messages, output: answer.text, usage });
 */
export function outputAudit(options: OutputAuditOptions): OutputAudit {
  const check = new OptionChecker('outputAudit', options, KNOWN);
  const rateOption = check.number('rate', { min: 0, max: 1, default: undefined });
  if (rateOption === undefined) check.problem('`rate` is required: a number from 0 to 1');
  const maxChars = check.number('maxChars', {
    min: 1,
    max: 1_000_000,
    integer: true,
    default: DEFAULT_MAX_CHARS,
  });
  const redaction = check.raw('redaction');
  if (redaction !== undefined && (typeof redaction !== 'object' || redaction === null)) {
    check.problem('`redaction` must be an object of redact options');
  }
  const random = check.func<() => number>('random') ?? Math.random;
  const { rate } = check.done({ rate: rateOption });
  const redactor = redactorFor(redaction as RedactOptions | undefined);

  // Redact the whole text first: a cap applied before would cut a secret in
  // two and leave its first part unrecognised.
  const capped = (text: string): { text: string; truncated: boolean; counts: RedactionCounts } => {
    const { value, counts } = redactor.textWithReport(text);
    return value.length > maxChars
      ? { text: value.slice(0, maxChars), truncated: true, counts }
      : { text: value, truncated: false, counts };
  };

  return {
    rate,
    sample(req, record) {
      if (rate === 0 || !(random() < rate)) return false;
      const prompt = capped(promptText(record.prompt));
      const output = capped(record.output);
      const usage = record.usage ?? {};
      securityEvents.emit('llm.output', req, {
        reason: 'sampled',
        rate,
        keyId: req?.apiKey?.id,
        user: req?.apiKey === undefined ? req?.auth?.sub : undefined,
        model: record.model,
        usage: {
          input_tokens: tokenCount(usage.input),
          output_tokens: tokenCount(usage.output),
          total_tokens: tokenCount(usage.total),
        },
        prompt: prompt.text,
        output: output.text,
        truncated: { prompt: prompt.truncated, output: output.truncated },
        redacted: mergeCounts(prompt.counts, output.counts),
      });
      return true;
    },
  };
}
