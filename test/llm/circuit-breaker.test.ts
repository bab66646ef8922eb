import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BulwarkConfigError,
  BulwarkError,
  circuitBreaker,
  errorHandler,
  isBulwarkError,
  securityEvents,
  type Breaker,
  type BulwarkRedis,
  type CircuitCallContext,
  type SecurityEvent,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, jsonApp } from '../helpers/express.js';
import { requireRedis } from '../helpers/redis.js';
import { clusterToolsAvailable } from '../helpers/redis-cluster.js';
import {
  REDIS_TARGET_KINDS,
  targetPrefixes,
  RedisTargets,
  type RedisTarget,
} from '../helpers/redis-targets.js';

/** A provider stub whose behaviour the test switches. */
function stubProvider() {
  const stub = {
    mode: 'ok' as 'ok' | 'fail' | 'hang' | 'flaky' | 'bad_request',
    calls: 0,
    aborted: 0,
    fn: async (prompt: string, { signal }: { signal: AbortSignal }): Promise<string> => {
      stub.calls += 1;
      switch (stub.mode) {
        case 'ok':
          return `answer to ${prompt}`;
        case 'fail':
          throw new Error('provider 500');
        case 'bad_request':
          throw Object.assign(new Error('provider 400'), { status: 400 });
        case 'flaky':
          if (stub.calls % 2 === 0) throw new Error('provider 502');
          return `answer to ${prompt}`;
        case 'hang':
          return new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => {
              stub.aborted += 1;
              reject(new Error('aborted'));
            });
          });
      }
    },
  };
  return stub;
}

async function expectUnavailable(promise: Promise<unknown>): Promise<BulwarkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BulwarkError);
  expect((error as BulwarkError).code).toBe('upstream.unavailable');
  expect((error as BulwarkError).status).toBe(503);
  return error as BulwarkError;
}

const breakers: Breaker<string, string>[] = [];
afterEach(() => {
  for (const b of breakers.splice(0)) b.shutdown();
});

function make(stub: ReturnType<typeof stubProvider>, extra = {}) {
  const breaker = circuitBreaker(stub.fn, {
    name: 'stub',
    timeoutMs: 50,
    volumeThreshold: 4,
    errorThresholdPercentage: 50,
    resetTimeoutMs: 200,
    ...extra,
  });
  breakers.push(breaker);
  return breaker;
}

describe('circuitBreaker', () => {
  it('passes answers through, fresh', async () => {
    const stub = stubProvider();
    const breaker = make(stub);
    await expect(breaker.call('hi')).resolves.toEqual({ value: 'answer to hi', stale: false });
    expect(breaker.state).toBe('closed');
  });

  it('times out a hung call, aborts its signal, and serves the cached answer marked stale', async () => {
    const stub = stubProvider();
    const breaker = make(stub);
    await breaker.call('hi');
    stub.mode = 'hang';
    const result = await breaker.call('hi');
    expect(result).toMatchObject({ value: 'answer to hi', stale: true });
    expect(result.stale && Number.isNaN(Date.parse(result.cachedAt))).toBe(false);
    expect(stub.aborted).toBe(1);
  });

  it("aborts a hung call's signal with a 503 upstream.unavailable, and counts it whatever isFailure says", async () => {
    let reason: unknown;
    const shown: unknown[] = [];
    const breaker = circuitBreaker(
      (_prompt: string, { signal }: CircuitCallContext) =>
        new Promise<string>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            reason = signal.reason;
            reject(signal.reason as Error);
          });
        }),
      {
        timeoutMs: 50,
        volumeThreshold: 1,
        cache: false,
        // A filter that would forgive everything must not keep a hanging upstream's circuit closed.
        isFailure: (error) => {
          shown.push(error);
          return false;
        },
      },
    );
    breakers.push(breaker);
    const answer = await expectUnavailable(breaker.call('hung'));
    expect(reason).toBeInstanceOf(BulwarkError);
    expect(reason).toMatchObject({
      code: 'upstream.unavailable',
      status: 503,
      message: 'upstream call timed out after 50 ms',
    });
    expect(answer.cause).toBe(reason);
    expect(shown).toEqual([]);
    expect(breaker.state).toBe('open');
  });

  it('answers 503 upstream.unavailable when there is no cached answer', async () => {
    const stub = stubProvider();
    stub.mode = 'fail';
    await expectUnavailable(make(stub).call('never answered'));
  });

  it('opens on the failure rate, serves stale, probes after the reset time, and closes', async () => {
    const events: SecurityEvent[] = [];
    const off = securityEvents.on('*', (e) => {
      if (e.type.startsWith('circuit.')) events.push(e);
    });
    const stub = stubProvider();
    const breaker = make(stub);
    await breaker.call('cached');

    stub.mode = 'flaky';
    for (let i = 0; i < 8 && breaker.state === 'closed'; i++) await breaker.call('cached');
    stub.mode = 'fail';
    for (let i = 0; i < 8 && breaker.state === 'closed'; i++) await breaker.call('cached');
    expect(breaker.state).toBe('open');

    const callsWhenOpened = stub.calls;
    await expect(breaker.call('cached')).resolves.toMatchObject({ stale: true });
    const error = await expectUnavailable(breaker.call('uncached'));
    expect(Number(error.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(stub.calls).toBe(callsWhenOpened);

    stub.mode = 'ok';
    await sleep(250);
    expect(breaker.state).toBe('half_open');
    await expect(breaker.call('cached')).resolves.toEqual({
      value: 'answer to cached',
      stale: false,
    });
    expect(breaker.state).toBe('closed');
    off();
    expect(events.map((e) => e.type)).toEqual([
      'circuit.open',
      'circuit.half_open',
      'circuit.closed',
    ]);
    expect(events[0]).toMatchObject({ circuit: 'stub', reason: 'failure_threshold' });
  });

  it('reopens when the half-open probe fails', async () => {
    const stub = stubProvider();
    const breaker = make(stub, { volumeThreshold: 1 });
    stub.mode = 'fail';
    await expectUnavailable(breaker.call('x'));
    expect(breaker.state).toBe('open');
    await sleep(250);
    await expectUnavailable(breaker.call('x'));
    expect(breaker.state).toBe('open');
  });

  it('rethrows errors that isFailure says the caller caused, without opening', async () => {
    const stub = stubProvider();
    const breaker = make(stub, {
      volumeThreshold: 1,
      isFailure: (e: unknown) => (e as { status?: number }).status !== 400,
    });
    stub.mode = 'bad_request';
    for (let i = 0; i < 5; i++) await expect(breaker.call('x')).rejects.toThrow('provider 400');
    expect(breaker.state).toBe('closed');
  });

  it.each([['maxKeys'], ['maxEntries']])(
    'keeps the memory cache within %s, dropping the least recently used answer',
    async (option) => {
      const stub = stubProvider();
      const breaker = make(stub, { cache: { [option]: 2 } });
      for (const prompt of ['a', 'b', 'c']) await breaker.call(prompt);
      stub.mode = 'fail';
      await expectUnavailable(breaker.call('a'));
      await expect(breaker.call('c')).resolves.toMatchObject({ stale: true });
      await expect(breaker.call('b')).resolves.toMatchObject({ stale: true });
    },
  );

  it('keeps an answer an outage is serving while new answers are stored', async () => {
    const stub = stubProvider();
    const breaker = make(stub, { cache: { maxKeys: 2 }, volumeThreshold: 1000 });
    await breaker.call('a');
    await breaker.call('b');
    stub.mode = 'fail';
    await expect(breaker.call('a')).resolves.toMatchObject({ stale: true });
    stub.mode = 'ok';
    await breaker.call('c');
    stub.mode = 'fail';
    await expect(breaker.call('a')).resolves.toMatchObject({ stale: true });
    await expectUnavailable(breaker.call('b'));
  });

  it('uses the caller-chosen cache key', async () => {
    const stub = stubProvider();
    const breaker = make(stub, { cache: { key: (p: string) => p.toLowerCase() } });
    await breaker.call('Hello');
    stub.mode = 'fail';
    await expect(breaker.call('HELLO')).resolves.toMatchObject({
      value: 'answer to Hello',
      stale: true,
    });
  });

  it('with cache: false never serves stale', async () => {
    const stub = stubProvider();
    const breaker = make(stub, { cache: false });
    await breaker.call('a');
    stub.mode = 'fail';
    await expectUnavailable(breaker.call('a'));
  });

  it.each([
    [{ timeoutMs: -1 }],
    [{ timeoutMs: '10s' }],
    [{ errorThresholdPercentage: 0 }],
    [{ errorThresholdPercentage: 101 }],
    [{ volumeThreshold: 1.5 }],
    [{ rollingWindowMs: 15 }],
    [{ resetTimeoutMs: Number.NaN }],
    [{ isFailure: true }],
    [{ cache: { store: 'disk' } }],
    [{ cache: { ttlMs: 0 } }],
    [{ cache: { maxEntries: Infinity } }],
    [{ cache: { maxKeys: 0 } }],
    [{ cache: { maxKeys: 1.5 } }],
    [{ cache: { maxKeys: 10, maxEntries: 10 } }],
    [{ cache: { kee: () => 'x' } }],
    [{ timeout: 5 }],
  ])('refuses %j', (options) => {
    expect(() => circuitBreaker(() => Promise.resolve(1), options as never)).toThrow(
      BulwarkConfigError,
    );
  });
});

/**
 * A streamed provider the test drives by hand: the call reports each chunk
 * with `progress()` and ends (or fails) when the test says so.
 */
function manualStream() {
  const stream = {
    chunks: [] as string[],
    signal: undefined as AbortSignal | undefined,
    progress: (): void => undefined,
    finish: (_error?: Error): void => undefined,
    fn: (prompt: string, context: CircuitCallContext): Promise<string> =>
      new Promise((resolve, reject) => {
        stream.signal = context.signal;
        stream.progress = () => {
          context.progress();
        };
        stream.chunks = [];
        context.signal.addEventListener('abort', () => {
          reject(context.signal.reason as Error);
        });
        stream.finish = (error) => {
          if (error === undefined) resolve(`streamed ${prompt}: ${stream.chunks.join('')}`);
          else reject(error);
        };
      }),
    chunk(text: string) {
      stream.chunks.push(text);
      stream.progress();
    },
  };
  return stream;
}

function makeStreamed(stream: ReturnType<typeof manualStream>, extra = {}) {
  const breaker = circuitBreaker(stream.fn, {
    name: 'stream',
    timeoutMs: 50,
    volumeThreshold: 1,
    resetTimeoutMs: 60_000,
    ...extra,
  });
  breakers.push(breaker);
  return breaker;
}

/** Lets the breaker's promise chain reach the call before the test drives it. */
const settled = () => vi.advanceTimersByTimeAsync(0);

describe('circuitBreaker with a streamed answer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('bounds the time to the first byte, then each gap, not the whole stream', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const stream = manualStream();
    const breaker = makeStreamed(stream);
    const call = breaker.call('a');
    await settled();
    // Six gaps of 40 ms: the whole stream takes 240 ms, five times the 50 ms deadline.
    for (let i = 0; i < 6; i++) {
      await vi.advanceTimersByTimeAsync(40);
      stream.chunk(String(i));
    }
    stream.finish();
    await expect(call).resolves.toEqual({ value: 'streamed a: 012345', stale: false });
    expect(stream.signal?.aborted).toBe(false);
    expect(breaker.state).toBe('closed');
  });

  it('times out a stream whose first byte does not come, and serves the cached answer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const stream = manualStream();
    const breaker = makeStreamed(stream, { volumeThreshold: 5 });
    const first = breaker.call('a');
    await settled();
    stream.chunk('x');
    stream.finish();
    await first;
    const second = breaker.call('a');
    await settled();
    await vi.advanceTimersByTimeAsync(50);
    await expect(second).resolves.toMatchObject({ value: 'streamed a: x', stale: true });
    expect(stream.signal?.aborted).toBe(true);
  });

  it('rethrows a failure after the first byte, never stale, and counts it against the circuit', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const stream = manualStream();
    const breaker = makeStreamed(stream, { volumeThreshold: 2, errorThresholdPercentage: 40 });
    const first = breaker.call('a');
    await settled();
    stream.chunk('x');
    stream.finish();
    await first;

    const broken = breaker.call('a');
    await settled();
    stream.chunk('half');
    stream.finish(new Error('connection reset mid-stream'));
    await expect(broken).rejects.toThrow('connection reset mid-stream');
    expect(breaker.state).toBe('open');
  });

  it('aborts a stream that stalls after its first byte, and rethrows the stall', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const stream = manualStream();
    const breaker = makeStreamed(stream);
    const call = breaker.call('a');
    await settled();
    stream.chunk('x');
    const outcome = call.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(50);
    const stall = await outcome;
    expect(stall).toBeInstanceOf(BulwarkError);
    expect(isBulwarkError(stall)).toBe(true);
    expect(stall).toMatchObject({ code: 'upstream.unavailable', status: 503 });
    expect((stall as Error).message).toMatch(/stalled for 50 ms/);
    expect(stream.signal?.aborted).toBe(true);
    expect(breaker.state).toBe('open');
  });

  it.each([
    ['before the first byte', false],
    ['mid-stream', true],
  ])(
    'aborts at once when the caller leaves %s, without counting it or serving stale',
    async (_when, started) => {
      const stream = manualStream();
      const breaker = makeStreamed(stream, { timeoutMs: 60_000 });
      const first = breaker.call('a');
      await sleep(0);
      stream.chunk('x');
      stream.finish();
      await first;

      const client = new AbortController();
      const call = breaker.call('a', { signal: client.signal });
      await sleep(0);
      if (started) stream.chunk('partial');
      client.abort(new Error('client disconnected'));
      await expect(call).rejects.toThrow('client disconnected');
      expect(stream.signal?.aborted).toBe(true);
      expect(breaker.state).toBe('closed');
    },
  );

  it('refuses a call whose signal is already aborted, without calling the upstream', async () => {
    const stub = stubProvider();
    const breaker = make(stub);
    const calls = stub.calls;
    await expect(
      breaker.call('a', { signal: AbortSignal.abort(new Error('gone')) }),
    ).rejects.toThrow('gone');
    expect(stub.calls).toBe(calls);
    expect(breaker.state).toBe('closed');
  });

  it('refuses a signal that is not an AbortSignal', async () => {
    const breaker = make(stubProvider());
    await expect(breaker.call('a', { signal: {} as AbortSignal })).rejects.toThrow(TypeError);
  });
});

describe.each(EXPRESS_VERSIONS)(
  'a stream that stalls, passed to errorHandler, on %s',
  (_name, factory) => {
    it('answers 503 upstream.unavailable without the stall message, the route never answering', async () => {
      // Buffers the stream before answering, so headers are still unsent when it stalls.
      const breaker = circuitBreaker(
        (_prompt: string, context: CircuitCallContext) =>
          new Promise<string>((_resolve, reject) => {
            context.progress();
            context.signal.addEventListener('abort', () => {
              reject(context.signal.reason as Error);
            });
          }),
        { timeoutMs: 50, cache: false },
      );
      breakers.push(breaker);
      const app = jsonApp(factory);
      let answered = false;
      app.post('/complete', (_req, res, next) => {
        breaker.call('p').then((result) => {
          answered = true;
          res.json(result);
        }, next);
      });
      app.use(errorHandler({ env: 'production' }));
      const res = await request(app).post('/complete');
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({
        type: 'urn:bulwark:problem:upstream.unavailable',
        status: 503,
        code: 'upstream.unavailable',
      });
      expect(res.text).not.toContain('stalled');
      expect(answered).toBe(false);
    });
  },
);

const hasRedis = (await requireRedis()) && (await clusterToolsAvailable());
const targets = new RedisTargets();

describe.runIf(hasRedis).each(REDIS_TARGET_KINDS)(
  'circuitBreaker with a Redis cache on a %s',
  (kind) => {
    let target: RedisTarget;
    let redis: BulwarkRedis;
    const prefixFor = targetPrefixes(targets, kind, (t, c) => {
      target = t;
      redis = c;
    });

    it('shares the last good answer between breakers (replicas)', async () => {
      const prefix = prefixFor('circuit');
      const first = stubProvider();
      const second = stubProvider();
      const a = make(first, { cache: { store: redis, prefix, ttlMs: 10_000 } });
      const b = make(second, { cache: { store: redis, prefix, ttlMs: 10_000 } });
      await a.call('shared');
      second.mode = 'fail';
      await expect(b.call('shared')).resolves.toMatchObject({
        value: 'answer to shared',
        stale: true,
      });
    });

    it('keeps one key per prompt under its prefix, each with the cache lifetime, whichever node holds it', async () => {
      const prefix = prefixFor('circuit-many');
      const first = stubProvider();
      const second = stubProvider();
      const a = make(first, { cache: { store: redis, prefix, ttlMs: 10_000 } });
      const b = make(second, { cache: { store: redis, prefix, ttlMs: 10_000 } });
      const prompts = Array.from({ length: 12 }, (_, i) => `prompt ${String(i)}`);
      for (const prompt of prompts) await a.call(prompt);
      const keys = await target.keys(prefix);
      expect(keys).toHaveLength(prompts.length);
      for (const key of keys) {
        const ttl = Number(await target.command(['PTTL', key], key));
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(10_000);
        // The cache key is a digest of the input, never the prompt itself.
        expect(key).not.toContain('prompt');
      }
      second.mode = 'fail';
      for (const prompt of prompts) {
        await expect(b.call(prompt)).resolves.toMatchObject({
          value: `answer to ${prompt}`,
          stale: true,
        });
      }
    });
  },
);
