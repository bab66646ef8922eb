import type { Response } from 'express';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BulwarkConfigError,
  requestTimeout,
  securityEvents,
  type SecurityEvent,
} from '../../src/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express.js';

/** A promise and the function that resolves it, for a handler to say it has the request. */
function signal(): { reached: Promise<void>; reach: () => void } {
  let reach = (): void => undefined;
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  return { reached, reach };
}

describe.each(EXPRESS_VERSIONS)('requestTimeout on %s', (_name, factory) => {
  // Only the timers the middleware and handlers use: the HTTP stack keeps its own.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function events() {
    const seen: SecurityEvent[] = [];
    const off = securityEvents.on('request.timeout', (e) => seen.push(e));
    return { seen, off };
  }

  it('lets a prompt handler answer and clears its timer', async () => {
    const app = factory();
    const closed = signal();
    app.use(requestTimeout(80));
    app.get('/', (_req, res) => {
      // Registered after the middleware's own 'close' listener, so it runs after it.
      res.once('close', closed.reach);
      res.json({ ok: true });
    });
    const { seen, off } = events();
    const res = await request(app).get('/');
    await closed.reached;
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1000);
    off();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    expect(seen).toEqual([]);
  });

  it.each([
    ['res.json', (res: Response) => res.status(200).json({ late: true })],
    ['res.send', (res: Response) => res.send('late')],
    [
      'writeHead/write/end',
      (res: Response) => {
        res.writeHead(200, { 'X-Late': '1' });
        res.write('late');
        res.end('!');
      },
    ],
    [
      'setHeader/removeHeader/end',
      (res: Response) => {
        res.setHeader('X-Late', '1');
        res.removeHeader('Content-Type');
        res.appendHeader('X-Late', '2');
        res.end();
      },
    ],
  ])('answers 503 request.timeout and swallows a late %s', async (_case, late) => {
    const app = factory();
    const failures: unknown[] = [];
    const arrived = signal();
    let lateRan = false;
    app.use(requestTimeout({ ms: 50 }));
    app.get('/', (_req, res) => {
      arrived.reach();
      setTimeout(() => {
        lateRan = true;
        try {
          late(res);
        } catch (error) {
          failures.push(error);
        }
      }, 150);
    });
    const { seen, off } = events();
    const answered = request(app)
      .get('/')
      .then((r) => r);
    await arrived.reached;
    vi.advanceTimersByTime(50);
    const res = await answered;
    // The handler answers after the 503 went out.
    vi.advanceTimersByTime(100);
    off();
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['x-late']).toBeUndefined();
    expect(res.body.code).toBe('request.timeout');
    expect(lateRan).toBe(true);
    expect(failures).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ reason: 'deadline', timeoutMs: 50 });
  });

  it('keeps the connection usable for the next request after a timeout', async () => {
    const app = factory();
    const arrived = signal();
    let lateRan = false;
    app.use(requestTimeout(40));
    app.get('/slow', (_req, res) => {
      arrived.reach();
      setTimeout(() => {
        lateRan = true;
        res.json({ late: true });
      }, 100);
    });
    app.get('/fast', (_req, res) => res.json({ ok: true }));
    const agent = request.agent(app);
    const slow = agent.get('/slow').then((r) => r);
    await arrived.reached;
    vi.advanceTimersByTime(40);
    expect((await slow).status).toBe(503);
    expect((await agent.get('/fast')).status).toBe(200);
    vi.advanceTimersByTime(60);
    expect(lateRan).toBe(true);
  });

  it('leaves a response that has already started alone', async () => {
    const app = factory();
    const arrived = signal();
    app.use(requestTimeout(40));
    app.get('/', (_req, res) => {
      res.setHeader('Content-Type', 'text/plain');
      res.write('part one,');
      arrived.reach();
      setTimeout(() => res.end(' part two'), 100);
    });
    const { seen, off } = events();
    const answered = request(app)
      .get('/')
      .then((r) => r);
    await arrived.reached;
    // Past the deadline with the response started: nothing is cut.
    vi.advanceTimersByTime(40);
    vi.advanceTimersByTime(60);
    const res = await answered;
    off();
    expect(res.status).toBe(200);
    expect(res.text).toBe('part one, part two');
    expect(seen).toEqual([]);
  });
});

describe('requestTimeout options', () => {
  it.each([
    ['-1', -1],
    ['0', 0],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ["'30s'", '30s'],
    ["'5000'", '5000'],
    ['null', null],
    ['{}', {}],
    ['1.5', 1.5],
    ['over the timer ceiling', 2 ** 31],
    ['an unknown key', { ms: 100, timeout: 100 }],
  ])('refuses %s', (_case, value) => {
    expect(() => requestTimeout(value as never)).toThrow(BulwarkConfigError);
  });

  it('is a named function', () => {
    expect(requestTimeout(1000).name).toBe('requestTimeoutMiddleware');
  });
});
