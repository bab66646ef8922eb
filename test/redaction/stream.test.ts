import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  createStreamRedactor,
  redactionTransform,
  redactText,
  type RedactOptions,
} from '../../src/index.js';
import { FAKE } from './fakes.js';
import { seededRandom as rng } from '../helpers/random.js';

function chunked(text: string, random: () => number, maxChunk: number): string[] {
  const chunks: string[] = [];
  let at = 0;
  while (at < text.length) {
    const size = 1 + Math.floor(random() * maxChunk);
    chunks.push(text.slice(at, at + size));
    at += size;
  }
  return chunks;
}

function streamed(chunks: readonly string[], options?: RedactOptions): string {
  const stream = createStreamRedactor(options);
  let out = '';
  for (const chunk of chunks) out += stream.push(chunk);
  return out + stream.end();
}

const hex = (n: number): string => 'a1b2c3d4e5f6'.repeat(n).slice(0, n);
const B64 = 'FAKEtest0123456789abcdXYZ_-';
const b64 = (n: number): string => B64.repeat(Math.ceil(n / B64.length)).slice(0, n);

const CORPUS = [
  `user ann.smith+tag@example.com said hi 👋 from 203.0.113.7 and fe80::1 and 2001:db8::`,
  `Authorization: Bearer ${FAKE.bearer}\ncurl -H "x-api-key: ${FAKE.openai}" https://app:FAKEpass@db.example.com/x`,
  `jwt ${FAKE.jwt} then ${FAKE.github}, ${FAKE.slack}; ${FAKE.aws}. ${FAKE.stripe} ${FAKE.google}`,
  `key:\n${FAKE.pem}\nafter the key`,
  `{"password": "FAKE secret value", "api_key": "FAKE-123", "max_tokens": 100}`,
  `card 4111 1111 1111 1111 exp, phone +44 20 7946 0958, iban DE89 3704 0044 0532 0130 00`,
  `ssn 123-45-6789, DOB: 1990-04-23, born on April 23, 1990. Cookie: sid=FAKE; theme=dark\n`,
  `near misses: v1.2.3 sk-learn 1716912345678 550e8400-e29b-41d4-a716-446655440000 3f786850e387550fdab836ed7e6dc881de23001b`,
  `emoji 😀😀 split ${FAKE.huggingFace} 𝒳 end`,
  `password = @"FAKE verbatim" and token := "FAKE go" and secret => 'FAKE ruby' <password>FAKE xml</password>`,
  `hook https://hooks.slack.com/services/TFAKE0000/BFAKE0000/${b64(24)} and https://api.telegram.org/bot123456789:AA${b64(33)}/getMe`,
  `Authorization: Digest username="ann", response="FAKE"\nAuthorization: SSWS ${b64(40)} next`,
  `jwe eyJ${b64(30)}..${b64(22)}.${b64(90)}.${b64(22)} and eyJ${b64(20)}.eyJ${b64(30)} unsigned`,
  `PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: fake\nPublic-Lines: 1\n${b64(60)}\nPrivate-MAC: ${hex(64)}\nthen text`,
  `---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: fake\n${b64(64)}\n---- END SSH2 ENCRYPTED PRIVATE KEY ----\nok`,
  `call (555) 234-5678 or +1 555 234 5678 or 020 7946 0958; ssn 123 45 6789; dop_v1_${hex(64)} ${hex(32)}-us12`,
];

describe('createStreamRedactor', () => {
  const whole = CORPUS.join('\n');

  it('gives redactText of the whole text for one chunk', () => {
    expect(streamed([whole])).toBe(redactText(whole));
  });

  it('gives redactText of the whole text in one-character chunks', () => {
    expect(streamed([...whole.split('')])).toBe(redactText(whole));
  });

  it.each([1, 2, 3, 5, 8, 13, 40, 200])(
    'gives redactText of the whole text in random chunks of up to %i (seeded)',
    (max) => {
      for (let seed = 1; seed <= 20; seed++) {
        const chunks = chunked(whole, rng(seed * 7919 + max), max);
        expect(streamed(chunks), `seed ${String(seed)}`).toBe(redactText(whole));
      }
    },
  );

  it.each(CORPUS.map((text, index) => [index, text] as const))(
    'corpus line %i: every two-piece cut gives redactText',
    (_index, text) => {
      const expected = redactText(text);
      for (let cut = 0; cut <= text.length; cut++) {
        expect(streamed([text.slice(0, cut), text.slice(cut)]), `cut at ${String(cut)}`).toBe(
          expected,
        );
      }
    },
  );

  it('never emits a lone surrogate', () => {
    const stream = createStreamRedactor();
    const text = 'a 😀 b 😀😀 c';
    for (const char of text.split('')) {
      const out = stream.push(char);
      expect(/[\uD800-\uDBFF]$/.test(out)).toBe(false);
    }
    expect(stream.end()).not.toMatch(/^[\uDC00-\uDFFF]/);
  });

  it('counts per category across chunks, never values', () => {
    const stream = createStreamRedactor();
    for (const char of `mail ann@example.com key ${FAKE.aws} `.split('')) stream.push(char);
    stream.end();
    expect(stream.counts).toEqual({ email: 1, api_key: 1 });
  });

  it('emits text without triggers at once', () => {
    const stream = createStreamRedactor();
    expect(stream.push('Hello there, how are you today? ')).toBe(
      'Hello there, how are you today? ',
    );
  });

  it('holds back a secret until it is decided, then emits it redacted', () => {
    const stream = createStreamRedactor();
    const first = stream.push(`token ${FAKE.openai.slice(0, 12)}`);
    expect(first).not.toContain('sk-');
    const rest = stream.push(`${FAKE.openai.slice(12)} done`) + stream.end();
    expect(first + rest).toBe('token [REDACTED:api_key] done');
  });

  it('honours category options and custom patterns (line by line)', () => {
    const options: RedactOptions = {
      categories: { ip: false },
      patterns: [{ category: 'employee_id', pattern: /EMP-\d{6}/ }],
    };
    const text = 'EMP-123456 from 10.0.0.1\nmail ann@example.com EMP-654321\n';
    for (let seed = 1; seed <= 10; seed++) {
      expect(streamed(chunked(text, rng(seed), 4), options)).toBe(redactText(text, options));
    }
  });

  it('refuses a push after end and a non-string chunk', () => {
    const stream = createStreamRedactor();
    stream.end();
    expect(() => stream.push('x')).toThrow(Error);
    expect(() => createStreamRedactor().push(42 as unknown as string)).toThrow(TypeError);
  });
});

describe('redactionTransform', () => {
  it('redacts a byte stream split inside UTF-8 sequences and secrets', async () => {
    const text = `héllo 😀 ${FAKE.github} ann@example.com 😀\n`;
    const bytes = Buffer.from(text);
    const pieces: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 3) pieces.push(bytes.subarray(at, at + 3));
    const transform = redactionTransform();
    let out = '';
    transform.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    await new Promise<void>((resolve, reject) => {
      Readable.from(pieces).pipe(transform).on('end', resolve).on('error', reject);
    });
    expect(out).toBe(redactText(text));
    expect(transform.counts).toEqual({ api_key: 1, email: 1 });
  });
});
