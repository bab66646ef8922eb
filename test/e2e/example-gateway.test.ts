import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactText } from '../../src/index.js';
import { ProviderStub, type ProviderWireFormat } from '../helpers/provider-stub.js';
import {
  clearSharedKeys,
  freePort,
  requireRedis,
  SHARED_REDIS_URL,
  uniquePrefix,
} from '../helpers/redis.js';
import { FAKE } from '../redaction/fakes.js';
import { ExampleProcess, expectProblem } from './example-process.js';
import { seededRandom as seeded } from '../helpers/random.js';

// The example's LLM gateway against a loopback provider stub speaking
// OpenAI's and Anthropic's wire formats: streamed answers through the stream
// redactor, the budget settled on streamed usage, client aborts reaching the
// provider, and provider keys sealed at rest through an ENCRYPTION_KEY rotation.

const ADMIN_PASSWORD = 'Owner-Passw0rd-test!';
const USER_PASSWORD = 'Plain-Passw0rd-test!';
const ENV_KEY = 'sk-test-FAKE-env-key-0123456789';
const STORED_KEY = 'sk-test-FAKE-stored-key-9876543210';
const ANTHROPIC_STORED_KEY = 'sk-test-FAKE-anthropic-stored-5555';

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Splits a `text/event-stream` body into events; each must be `event:` then one `data:` line of JSON. */
function parseSse(body: string): SseEvent[] {
  expect(body.endsWith('\n\n')).toBe(true);
  return body
    .slice(0, -2)
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^event: (delta|done|error)$/);
      expect(lines[1]).toMatch(/^data: /);
      return {
        event: lines[0]!.slice('event: '.length),
        data: JSON.parse(lines[1]!.slice('data: '.length)) as Record<string, unknown>,
      };
    });
}

/** Cuts `secret` into 2-4 pieces at random offsets. */
function splitSecret(secret: string, random: () => number): string[] {
  const count = 2 + Math.floor(random() * 3);
  const cuts = new Set<number>();
  while (cuts.size < count - 1) cuts.add(1 + Math.floor(random() * (secret.length - 1)));
  const offsets = [0, ...[...cuts].sort((a, b) => a - b), secret.length];
  return offsets.slice(1).map((end, i) => secret.slice(offsets[i], end));
}

/** Each secret, and the part of it that redaction hides (a URL keeps its scheme and host). */
const SECRETS: [string, string, string][] = [
  ['openai key', FAKE.openai, FAKE.openai],
  ['anthropic key', FAKE.anthropic, FAKE.anthropic],
  ['github token', FAKE.github, FAKE.github],
  ['aws key', FAKE.aws, FAKE.aws],
  ['jwt', FAKE.jwt, FAKE.jwt],
  ['email', 'ann.test@example.com', 'ann.test@example.com'],
  ['url credentials', 'postgres://app:FAKEpassword@db.example.com/app', 'app:FAKEpassword'],
];

/** The parts of each piece that fall inside the hidden part of the secret. */
function hiddenParts(secret: string, hidden: string, pieces: readonly string[]): string[] {
  const from = secret.indexOf(hidden);
  const to = from + hidden.length;
  let at = 0;
  return pieces.map((piece) => {
    const part = secret.slice(Math.max(at, from), Math.min(at + piece.length, to));
    at += piece.length;
    return part;
  });
}

async function login(server: ExampleProcess, username: string, password: string) {
  const res = await server.fetch('/auth/login', { json: { username, password } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function registerAndLogin(server: ExampleProcess, username: string): Promise<string> {
  const res = await server.fetch('/auth/register', {
    json: { username, password: USER_PASSWORD },
  });
  expect(res.status).toBe(201);
  return login(server, username, USER_PASSWORD);
}

function complete(
  server: ExampleProcess,
  token: string,
  content: string,
  extra: Record<string, unknown> = {},
): Promise<Response> {
  return server.fetch('/v1/complete', {
    token,
    json: { messages: [{ role: 'user', content }], max_tokens: 64, ...extra },
  });
}

describe('example gateway (memory stores)', () => {
  const stub = new ProviderStub();
  let server: ExampleProcess;
  let admin: string;
  let user: string;

  beforeAll(async () => {
    const urls = await stub.listen();
    server = await ExampleProcess.start({
      PORT: String(await freePort()),
      ADMIN_PASSWORD,
      OPENAI_API_KEY: ENV_KEY,
      OPENAI_MODEL: 'test-model',
      ANTHROPIC_MODEL: 'test-claude',
      LLM_OUTPUT_AUDIT_RATE: '1',
      ...urls,
    });
    admin = await login(server, 'admin', ADMIN_PASSWORD);
    user = await registerAndLogin(server, 'plain-user');
  });

  afterAll(async () => {
    await (server as ExampleProcess | undefined)?.stop();
    await stub.close();
  });

  describe.each<[ProviderWireFormat]>([['openai'], ['anthropic']])(
    'streamed answers in the %s wire format',
    (format) => {
      beforeAll(async () => {
        stub.mode = 'ok';
        // A stored Anthropic key wins over the environment's OpenAI key.
        const res =
          format === 'anthropic'
            ? await server.fetch('/admin/providers/anthropic', {
                method: 'PUT',
                token: admin,
                json: { api_key: ANTHROPIC_STORED_KEY },
              })
            : undefined;
        if (res !== undefined) expect(res.status).toBe(204);
      });

      afterAll(async () => {
        stub.pieces = ['stub ', 'answer'];
        if (format === 'anthropic') {
          await server.fetch('/admin/providers/anthropic', { method: 'DELETE', token: admin });
        }
      });

      const cases = SECRETS.flatMap(([name, secret, hidden]) =>
        [1, 2, 3].map((seed) => [name, seed, secret, hidden] as const),
      );

      it.each(cases)(
        'never lets a %s split across pieces (seed %d) reach the client',
        async (_name, seed, secret, hidden) => {
          const pieces = splitSecret(secret, seeded(seed * 7919 + secret.length));
          stub.pieces = ['Here it is: ', ...pieces, ' and that is all.'];
          const whole = stub.pieces.join('');
          const res = await complete(server, admin, 'What is the key?', { stream: true });
          expect(res.status).toBe(200);
          expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
          const body = await res.text();
          const events = parseSse(body);
          const deltas = events.filter((e) => e.event === 'delta');
          expect(events.at(-1)?.event).toBe('done');
          const text = deltas.map((e) => e.data.text).join('');
          expect(text).toBe(redactText(whole));
          expect(text).toMatch(/^Here it is: \S*\[REDACTED:[a-z_]+\]\S* and that is all\.$/);
          expect(body).not.toContain(hidden);
          for (const part of hiddenParts(secret, hidden, pieces)) {
            if (part.length >= 5) expect(body).not.toContain(part);
          }
          const sent = stub.received.at(-1)!;
          expect(sent.format).toBe(format);
          expect(sent.stream).toBe(true);
          expect(sent.credential).toBe(
            format === 'openai' ? `Bearer ${ENV_KEY}` : ANTHROPIC_STORED_KEY,
          );
        },
      );

      it('sends the prompt redacted, and reports the stream usage when done', async () => {
        stub.pieces = ['fine'];
        const res = await complete(server, admin, `Mail ann.test@example.com, key ${FAKE.openai}`, {
          stream: true,
        });
        const events = parseSse(await res.text());
        expect(events.at(-1)).toEqual({
          event: 'done',
          data: { redacted: { email: 1, api_key: 1 }, output_redacted: {}, usage: 7 },
        });
        const sent = stub.received.at(-1)!;
        expect(sent.body.messages).toEqual([
          { role: 'user', content: 'Mail [REDACTED:email], key [REDACTED:api_key]' },
        ]);
        if (format === 'openai') expect(sent.body.stream_options).toEqual({ include_usage: true });
        else expect(sent.body.model).toBe('test-claude');
      });

      it('closes the provider connection when the client disconnects mid-stream', async () => {
        stub.mode = 'stall';
        stub.pieces = ['first piece ', 'never sent'];
        const client = new AbortController();
        const res = await fetch(`${server.url}/v1/complete`, {
          method: 'POST',
          headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            messages: [{ role: 'user', content: 'stream and stall' }],
            max_tokens: 64,
            stream: true,
          }),
          signal: client.signal,
        });
        // The example answers with headers at the provider's first piece; the
        // redactor may still hold that piece back, so the headers are the sign.
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
        const n = stub.received.length;
        stub.log.push('client aborted');
        client.abort();
        await expect.poll(() => stub.log.includes(`closed early ${String(n)}`)).toBe(true);
        const order = [`request ${String(n)}`, 'client aborted', `closed early ${String(n)}`].map(
          (line) => stub.log.lastIndexOf(line),
        );
        expect(order).toEqual([...order].sort((a, b) => a - b));
        stub.mode = 'ok';
      });

      it('ends with an error event when the provider breaks off mid-stream', async () => {
        stub.mode = 'break';
        stub.pieces = ['partial ', 'lost'];
        const res = await complete(server, admin, `break off ${format}`, { stream: true });
        expect(res.status).toBe(200);
        const events = parseSse(await res.text());
        // What the redactor still held back when the stream broke is dropped, never flushed.
        expect(events.slice(0, -1).every((e) => e.event === 'delta')).toBe(true);
        expect(events.at(-1)).toMatchObject({
          event: 'error',
          data: { status: 503, code: 'upstream.unavailable' },
        });
        stub.mode = 'ok';
      });

      it('answers a refusal before the first byte as a problem, not a stream', async () => {
        stub.mode = 'fail';
        await expectProblem(
          await complete(server, admin, `never answered ${format}`, { stream: true }),
          503,
          'upstream.unavailable',
        );
        stub.mode = 'ok';
      });

      it('still answers in one piece without stream', async () => {
        stub.pieces = ['whole ', 'answer'];
        const res = await complete(server, admin, 'Mail ann.test@example.com');
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ output: 'whole answer', redacted: { email: 1 } });
        expect(stub.received.at(-1)!.stream).toBe(false);
      });
    },
  );

  it('settles a streamed answer that overruns the budget, and refuses the next request', async () => {
    const spender = await registerAndLogin(server, 'budget-user');
    stub.usage = { input: 90_000, output: 20_000 };
    try {
      const res = await complete(server, spender, 'a long answer', {
        stream: true,
        max_tokens: 100,
      });
      const events = parseSse(await res.text());
      expect(events.at(-1)).toMatchObject({ event: 'done', data: { usage: 110_000 } });
      const before = stub.received.length;
      await expectProblem(
        await complete(server, spender, 'one more', { stream: true, max_tokens: 1 }),
        429,
        'rate_limit.budget_exceeded',
      );
      expect(stub.received.length).toBe(before);
    } finally {
      stub.usage = { input: 5, output: 2 };
    }
  });

  it('records each exchange as a redacted llm.output event at LLM_OUTPUT_AUDIT_RATE=1', async () => {
    stub.pieces = ['Reply to ', 'ann.test@example.com', ' today.'];
    const res = await complete(server, admin, `audit me: ${FAKE.github}`, { stream: true });
    expect(res.status).toBe(200);
    await res.text();
    await expect.poll(() => server.stderr.includes('audit me: [REDACTED:api_key]')).toBe(true);
    const line = server.stderr
      .split('\n')
      .find((entry) => entry.includes('"llm.output"') && entry.includes('audit me'));
    const event = JSON.parse(line!) as Record<string, unknown>;
    expect(event).toMatchObject({
      type: 'llm.output',
      model: 'test-model',
      prompt: 'user: audit me: [REDACTED:api_key]',
      output: 'Reply to [REDACTED:email] today.',
      usage: { total_tokens: 7 },
    });
    expect(server.stderr).not.toContain(FAKE.github);
    expect(server.stderr).not.toContain('ann.test@example.com');
    stub.pieces = ['stub ', 'answer'];
  });

  describe('provider keys', () => {
    it('stores a key for an admin, lists it without the key, uses it, and deletes it', async () => {
      const put = await server.fetch('/admin/providers/openai', {
        method: 'PUT',
        token: admin,
        json: { api_key: STORED_KEY },
      });
      expect(put.status).toBe(204);

      const list = await server.fetch('/admin/providers', { token: admin });
      const body = await list.text();
      expect(body).not.toContain(STORED_KEY);
      const entries = JSON.parse(body) as Record<string, unknown>[];
      expect(entries).toEqual([
        {
          name: 'openai',
          key_hint: '3210',
          kid: expect.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) as unknown,
          updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
        },
      ]);

      await complete(server, admin, 'which key?');
      expect(stub.received.at(-1)!.credential).toBe(`Bearer ${STORED_KEY}`);

      const del = await server.fetch('/admin/providers/openai', { method: 'DELETE', token: admin });
      expect(del.status).toBe(204);
      await expectProblem(
        await server.fetch('/admin/providers/openai', { method: 'DELETE', token: admin }),
        404,
        'resource.not_found',
      );
      await complete(server, admin, 'which key now?');
      expect(stub.received.at(-1)!.credential).toBe(`Bearer ${ENV_KEY}`);
      expect(server.stdout + server.stderr).not.toContain(STORED_KEY);
    });

    it.each([
      ['GET', '/admin/providers', undefined],
      ['PUT', '/admin/providers/openai', { api_key: 'sk-test-FAKE-user-attempt-0000' }],
      ['DELETE', '/admin/providers/anthropic', undefined],
      ['POST', '/admin/providers/reseal', {}],
    ])('refuses %s %s to a user with 403 auth.forbidden', async (method, path, json) => {
      await server.fetch('/admin/providers/anthropic', {
        method: 'PUT',
        token: admin,
        json: { api_key: ANTHROPIC_STORED_KEY },
      });
      await expectProblem(
        await server.fetch(path, { method, token: user, ...(json === undefined ? {} : { json }) }),
        403,
        'auth.forbidden',
      );
      // The handler did not run: the stored keys are as the admin left them.
      const list = (await (await server.fetch('/admin/providers', { token: admin })).json()) as {
        name: string;
        key_hint: string;
      }[];
      expect(list.map((entry) => [entry.name, entry.key_hint])).toEqual([['anthropic', '5555']]);
      await server.fetch('/admin/providers/anthropic', { method: 'DELETE', token: admin });
    });

    it.each([
      ['an unknown provider', '/admin/providers/azure', { api_key: STORED_KEY }],
      [
        'a base URL in the body',
        '/admin/providers/openai',
        { api_key: STORED_KEY, base_url: 'http://evil.example' },
      ],
      ['a key with a space', '/admin/providers/openai', { api_key: 'sk-test FAKE' }],
      ['no key', '/admin/providers/openai', {}],
    ])('refuses %s with 400 validation.failed', async (_what, path, json) => {
      await expectProblem(
        await server.fetch(path, { method: 'PUT', token: admin, json }),
        400,
        'validation.failed',
      );
      const list = (await (await server.fetch('/admin/providers', { token: admin })).json()) as [];
      expect(list).toEqual([]);
    });
  });
});

const hasRedis = await requireRedis();

/** Every value under `prefix`, whatever its Redis type, as text. */
async function storedValues(prefix: string): Promise<string[]> {
  const client = createClient({ url: SHARED_REDIS_URL });
  client.on('error', () => undefined);
  await client.connect();
  const values: string[] = [];
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      for (const key of keys) {
        const type = await client.type(key);
        if (type === 'string') values.push((await client.get(key)) ?? '');
        else if (type === 'set') values.push(...(await client.sMembers(key)));
        else if (type === 'hash') values.push(JSON.stringify(await client.hGetAll(key)));
        else if (type === 'list') values.push(...(await client.lRange(key, 0, -1)));
        else if (type === 'zset') values.push(...(await client.zRange(key, 0, -1)));
        values.push(key);
      }
    }
  } finally {
    client.destroy();
  }
  return values;
}

describe.runIf(hasRedis)('example gateway: ENCRYPTION_KEY rotation with Redis', () => {
  const stub = new ProviderStub();
  const prefix = uniquePrefix('gateway').replace(/[^A-Za-z0-9:_.-]/g, '');
  const KEY_A = randomBytes(32).toString('hex');
  const KEY_B = randomBytes(32).toString('hex');
  let urls: Awaited<ReturnType<ProviderStub['listen']>>;

  // Ready first: on a busy machine Redis and the admin's background seeding lag the listen.
  const start = async (env: Record<string, string>) => {
    const server = await ExampleProcess.start({
      PORT: String(await freePort()),
      ADMIN_PASSWORD,
      REDIS_URL: SHARED_REDIS_URL,
      BULWARK_REDIS_PREFIX: prefix,
      ...urls,
      ...env,
    });
    try {
      await server.whenReady();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  };

  const kid = async (server: ExampleProcess, token: string): Promise<string> => {
    const list = (await (await server.fetch('/admin/providers', { token })).json()) as {
      kid: string;
    }[];
    expect(list).toHaveLength(1);
    return list[0]!.kid;
  };

  const usesStoredKey = async (server: ExampleProcess, token: string): Promise<void> => {
    const res = await complete(server, token, 'which key?');
    expect(res.status).toBe(200);
    expect(stub.received.at(-1)!.credential).toBe(`Bearer ${STORED_KEY}`);
  };

  beforeAll(async () => {
    urls = await stub.listen();
  });

  afterAll(async () => {
    await stub.close();
    await clearSharedKeys([prefix]);
  });

  it('rotates from key A to key B with no downtime, then drops A', async () => {
    // 1. Key A: store a provider key; nothing in Redis holds it.
    let server = await start({ ENCRYPTION_KEY: KEY_A });
    let kidA: string;
    try {
      const token = await login(server, 'admin', ADMIN_PASSWORD);
      const put = await server.fetch('/admin/providers/openai', {
        method: 'PUT',
        token,
        json: { api_key: STORED_KEY },
      });
      expect(put.status).toBe(204);
      await usesStoredKey(server, token);
      kidA = await kid(server, token);
      const values = await storedValues(prefix);
      expect(values.some((value) => value.includes(kidA))).toBe(true);
      for (const value of values) expect(value).not.toContain(STORED_KEY);
    } finally {
      await server.stop();
    }

    // 2. Key B current, A still accepted: everything works, then reseal moves the value to B.
    server = await start({ ENCRYPTION_KEY: KEY_B, ENCRYPTION_PREVIOUS_KEYS: KEY_A });
    try {
      const token = await login(server, 'admin', ADMIN_PASSWORD);
      await usesStoredKey(server, token);
      expect(await kid(server, token)).toBe(kidA);
      const reseal = await server.fetch('/admin/providers/reseal', { token, json: {} });
      expect(reseal.status).toBe(200);
      expect(await reseal.json()).toEqual({
        scanned: 1,
        resealed: 1,
        already_current: 0,
        failed: 0,
      });
      expect(await kid(server, token)).not.toBe(kidA);
      await usesStoredKey(server, token);
    } finally {
      await server.stop();
    }

    // 3. A dropped: the resealed key still opens.
    server = await start({ ENCRYPTION_KEY: KEY_B });
    try {
      const token = await login(server, 'admin', ADMIN_PASSWORD);
      await usesStoredKey(server, token);
      for (const value of await storedValues(prefix)) expect(value).not.toContain(STORED_KEY);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('keeps the stale-answer cache in CIRCUIT_BREAKER_CACHE_URL', async () => {
    const cachePrefix = uniquePrefix('gateway-cache').replace(/[^A-Za-z0-9:_.-]/g, '');
    const server = await ExampleProcess.start({
      PORT: String(await freePort()),
      ADMIN_PASSWORD,
      // No REDIS_URL: everything else stays in memory, the cache alone goes to Redis.
      CIRCUIT_BREAKER_CACHE_URL: SHARED_REDIS_URL,
      BULWARK_REDIS_PREFIX: cachePrefix,
      OPENAI_API_KEY: ENV_KEY,
      ...urls,
    });
    try {
      const token = await login(server, 'admin', ADMIN_PASSWORD);
      stub.mode = 'ok';
      expect((await complete(server, token, 'cache this answer')).status).toBe(200);
      const keys = (await storedValues(cachePrefix)).filter((value) =>
        value.startsWith(`${cachePrefix}circuit:provider:`),
      );
      expect(keys).toHaveLength(1);
      stub.mode = 'fail';
      const stale = await complete(server, token, 'cache this answer');
      expect(await stale.json()).toMatchObject({ output: 'stub answer', stale: true });
    } finally {
      stub.mode = 'ok';
      await server.stop();
      await clearSharedKeys([cachePrefix]);
    }
  }, 60_000);

  it('refuses to start in production without ENCRYPTION_KEY once a provider key is stored', async () => {
    const port = await freePort();
    const result = await ExampleProcess.run({
      ENVIRONMENT: 'production',
      PORT: String(port),
      JWT_SECRET_KEY: `FAKE-${randomBytes(32).toString('base64url')}`,
      TRUSTED_HOSTS: `127.0.0.1:${String(port)}`,
      CORS_ALLOWED_ORIGINS: 'https://app.example.com',
      REDIS_URL: SHARED_REDIS_URL,
      BULWARK_REDIS_PREFIX: prefix,
      HTTPS_REDIRECT_ENABLED: 'false',
      ADMIN_PASSWORD,
      ...urls,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'ENCRYPTION_KEY is not set, but provider keys are stored sealed',
    );
  }, 60_000);
});
