import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  BulwarkError,
  guardOutbound,
  securityEvents,
  type SecurityEvent,
} from '../../src/index.js';
import { FAKE } from '../redaction/fakes.js';

const SECRETS: [string, string, string][] = [
  ['openai', FAKE.openai, 'api_key'],
  ['openai project', FAKE.openaiProject, 'api_key'],
  ['anthropic', FAKE.anthropic, 'api_key'],
  ['aws', FAKE.aws, 'api_key'],
  ['github', FAKE.github, 'api_key'],
  ['github fine-grained', FAKE.githubFineGrained, 'api_key'],
  ['slack', FAKE.slack, 'api_key'],
  ['stripe', FAKE.stripe, 'api_key'],
  ['stripe restricted', FAKE.stripeRestricted, 'api_key'],
  ['google', FAKE.google, 'api_key'],
  ['hugging face', FAKE.huggingFace, 'api_key'],
  ['bulwark', FAKE.bulwark, 'api_key'],
  ['jwt', FAKE.jwt, 'jwt'],
  ['bearer', `Bearer ${FAKE.bearer}`, 'bearer'],
  ['basic', `Basic ${FAKE.basic}`, 'bearer'],
  ['pem', FAKE.pem, 'private_key'],
  ['email', 'ann.test@example.com', 'email'],
  ['ipv4', '203.0.113.7', 'ip'],
  ['ipv6', '2001:db8::1', 'ip'],
  ['url credentials', 'postgres://app:FAKEpassword@db.example.com/app', 'url_credentials'],
  ['card', '4111 1111 1111 1111', 'card'],
];

function chat(content: string) {
  return {
    model: 'test-model',
    messages: [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: [{ type: 'text', text: `Please debug: ${content} thanks` }] },
    ],
  };
}

describe('guardOutbound', () => {
  it.each(SECRETS)(
    'removes a %s inside nested chat messages and counts it',
    (_name, secret, category) => {
      const events: SecurityEvent[] = [];
      const off = securityEvents.on('llm.redacted', (e) => events.push(e));
      const input = chat(secret);
      const { payload, redacted } = guardOutbound(input);
      off();
      const sent = JSON.stringify(payload);
      expect(sent).not.toContain(secret);
      expect(sent).toContain('Please debug:');
      expect(redacted[category]).toBeGreaterThanOrEqual(1);
      expect(events).toHaveLength(1);
      expect(JSON.stringify(events[0])).not.toContain(secret);
      expect(input).toEqual(chat(secret));
    },
  );

  it('reports every category with its count in the event, api_key included', () => {
    const events: SecurityEvent[] = [];
    const off = securityEvents.on('llm.redacted', (e) => events.push(e));
    const content = `${FAKE.openai} and ${FAKE.anthropic} for ann.test@example.com`;
    const { redacted } = guardOutbound(chat(content));
    off();
    expect(redacted).toEqual({ api_key: 2, email: 1 });
    expect(events).toHaveLength(1);
    // The bus redacts the event before listeners see it: a member named `api_key`
    // would arrive as a marker, so the counts travel as pairs.
    expect(events[0]).toMatchObject({
      reason: 'outbound_redacted',
      redacted: [
        { category: 'api_key', count: 2 },
        { category: 'email', count: 1 },
      ],
    });
    expect(events[0]?.bytes).toEqual(expect.any(Number));
  });

  it('reports counts only, and no event when nothing was removed', () => {
    const events: SecurityEvent[] = [];
    const off = securityEvents.on('llm.redacted', (e) => events.push(e));
    const clean = chat('the build fails on line 12 of v1.2.3');
    const result = guardOutbound(clean);
    off();
    expect(result.payload).toEqual(clean);
    expect(result.redacted).toEqual({});
    expect(events).toHaveLength(0);
  });

  it('refuses a payload over maxBytes with 413 request.too_large', () => {
    const error = (() => {
      try {
        guardOutbound(chat('x'.repeat(2000)), { maxBytes: 1000 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(BulwarkError);
    expect((error as BulwarkError).code).toBe('request.too_large');
    expect((error as BulwarkError).status).toBe(413);
  });

  it('keeps categories the caller chose to keep', () => {
    const redaction = { categories: { email: false } } as const;
    const { payload } = guardOutbound(chat('ann.test@example.com'), { redaction });
    expect(JSON.stringify(payload)).toContain('ann.test@example.com');
  });

  it.each([[{ maxBytes: 0 }], [{ maxBytes: '1mb' }], [{ redaction: 'all' }], [{ maxbytes: 5 }]])(
    'refuses %j',
    (options) => {
      expect(() => guardOutbound({}, options as never)).toThrow(BulwarkConfigError);
    },
  );
});
