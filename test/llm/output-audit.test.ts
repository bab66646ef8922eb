import type { Request } from 'express';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  outputAudit,
  requestId,
  securityEvents,
  type OutputAuditRecord,
  type SecurityEvent,
} from '../../src/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express.js';
import { FAKE } from '../redaction/fakes.js';
import { seededRandom as seeded } from '../helpers/random.js';

/** A source that returns the given draws in turn. */
function draws(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

const RECORD: OutputAuditRecord = {
  model: 'test-model',
  prompt: [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: `My key is ${FAKE.openai}, mail ann.test@example.com` },
  ],
  output: `Rotate ${FAKE.anthropic} now.`,
  usage: { input: 12, output: 5, total: 17 },
};

const events: SecurityEvent[] = [];
const off = securityEvents.on('llm.output', (event) => events.push(event));
afterEach(() => {
  events.length = 0;
});
process.on('exit', off);

describe('outputAudit', () => {
  it.each([
    [0, [0, 0.5, 0.99], [false, false, false]],
    [1, [0, 0.5, 0.999_999], [true, true, true]],
    [0.25, [0.1, 0.25, 0.3, 0.249], [true, false, false, true]],
  ])('at rate %d keeps exactly the draws below it', (rate, values, kept) => {
    const audit = outputAudit({ rate, random: draws(...values) });
    const results = values.map(() => audit.sample(undefined, RECORD));
    expect(results).toEqual(kept);
    expect(events).toHaveLength(kept.filter(Boolean).length);
  });

  it('keeps about the configured fraction of a seeded run', () => {
    const audit = outputAudit({ rate: 0.1, random: seeded(42) });
    let kept = 0;
    for (let i = 0; i < 10_000; i++)
      if (audit.sample(undefined, { prompt: 'p', output: 'o' })) kept++;
    // The seed fixes the count; the band says what the rate means.
    expect(kept).toBeGreaterThan(900);
    expect(kept).toBeLessThan(1100);
  });

  it('records redacted texts, never the raw ones, with model and token counts', () => {
    outputAudit({ rate: 1 }).sample(undefined, RECORD);
    expect(events).toHaveLength(1);
    const event = events[0]!;
    const json = JSON.stringify(event);
    expect(json).not.toContain(FAKE.openai);
    expect(json).not.toContain(FAKE.anthropic);
    expect(json).not.toContain('ann.test@example.com');
    expect(event).toMatchObject({
      type: 'llm.output',
      reason: 'sampled',
      model: 'test-model',
      usage: { input_tokens: 12, output_tokens: 5, total_tokens: 17 },
      prompt: 'system: You are helpful.\nuser: My key is [REDACTED:api_key], mail [REDACTED:email]',
      output: 'Rotate [REDACTED:api_key] now.',
      truncated: { prompt: false, output: false },
      redacted: [
        { category: 'api_key', count: 2 },
        { category: 'email', count: 1 },
      ],
    });
  });

  it('caps each text after redacting it, so a cut never leaves part of a secret', () => {
    const output = `${'x'.repeat(20)} ${FAKE.openai} ${'y'.repeat(100)}`;
    outputAudit({ rate: 1, maxChars: 40 }).sample(undefined, { prompt: 'short', output });
    const event = events[0]!;
    expect(event.output).toBe(`${'x'.repeat(20)} [REDACTED:api_key] y`.slice(0, 40));
    expect(event.truncated).toEqual({ prompt: false, output: true });
    expect(JSON.stringify(event)).not.toContain(FAKE.openai.slice(0, 12));
  });

  it('draws nothing and records nothing at rate 0', () => {
    let calls = 0;
    const audit = outputAudit({
      rate: 0,
      random: () => {
        calls++;
        return 0;
      },
    });
    expect(audit.sample(undefined, RECORD)).toBe(false);
    expect(calls).toBe(0);
    expect(events).toHaveLength(0);
  });

  it.each([
    [{}],
    [{ rate: -0.1 }],
    [{ rate: 1.5 }],
    [{ rate: '0.5' }],
    [{ rate: Number.NaN }],
    [{ rate: 0.5, maxChars: 0 }],
    [{ rate: 0.5, maxChars: 1.5 }],
    [{ rate: 0.5, random: 0.3 }],
    [{ rate: 0.5, redaction: 'all' }],
    [{ rate: 0.5, sampleRate: 0.5 }],
  ])('refuses %j', (options) => {
    expect(() => outputAudit(options as never)).toThrow(BulwarkConfigError);
  });
});

describe.each(EXPRESS_VERSIONS)('outputAudit in a request on %s', (_name, express) => {
  it.each([
    ['an API key', { apiKey: { id: 'key-1', scopes: [] } }, { keyId: 'key-1', user: undefined }],
    ['a user', { auth: { sub: 'user-7', roles: [] } }, { keyId: undefined, user: 'user-7' }],
  ])('names the request and the caller with %s', async (_who, caller, expected) => {
    const audit = outputAudit({ rate: 1 });
    const app = express();
    app.use(requestId());
    app.post('/complete', (req, res) => {
      Object.assign(req, caller);
      audit.sample(req as Request, RECORD);
      res.status(204).end();
    });
    const res = await request(app).post('/complete').set('X-Request-Id', 'req-audit-1');
    expect(res.status).toBe(204);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ requestId: 'req-audit-1', path: '/complete', ...expected });
  });
});
