import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { BulwarkConfigError, requestId, securityEvents } from '../../src/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe.each(EXPRESS_VERSIONS)('requestId on %s', (_name, factory) => {
  function app(options?: Parameters<typeof requestId>[0]) {
    const a = factory();
    a.use(requestId(options));
    a.get('/', (req, res) => {
      securityEvents.emit('auth.failed', req, { reason: 'test' });
      res.json({ id: req.requestId });
    });
    return a;
  }

  it('generates a UUID and sets it on the request, the response and events', async () => {
    const seen: (string | undefined)[] = [];
    const off = securityEvents.on('auth.failed', (e) => seen.push(e.requestId));
    const res = await request(app()).get('/');
    off();
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(res.body.id).toBe(res.headers['x-request-id']);
    expect(seen).toEqual([res.headers['x-request-id']]);
  });

  it('accepts a well-formed incoming id', async () => {
    const res = await request(app()).get('/').set('X-Request-Id', 'edge-7f3a.01:b@lb');
    expect(res.headers['x-request-id']).toBe('edge-7f3a.01:b@lb');
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['a space', 'abc def'],
    ['a quote', 'abc"def'],
    ['a log-forging brace', '{"level":"info"}'],
    ['a tab', 'abc\tdef'],
    ['non-ASCII', 'abcé'],
    ['empty', ''],
  ])('replaces an incoming id with %s', async (_case, value) => {
    const res = await request(app()).get('/').set('X-Request-Id', value);
    expect(res.headers['x-request-id']).toMatch(UUID);
  });

  it('ignores incoming ids when trustIncoming is false', async () => {
    const res = await request(app({ trustIncoming: false }))
      .get('/')
      .set('X-Request-Id', 'abc');
    expect(res.headers['x-request-id']).toMatch(UUID);
  });

  it('uses a custom header and length', async () => {
    const res = await request(app({ header: 'X-Correlation-Id', maxLength: 4 }))
      .get('/')
      .set('X-Correlation-Id', 'abcd');
    expect(res.headers['x-correlation-id']).toBe('abcd');
  });
});

describe('requestId options', () => {
  it.each([
    [{ maxLength: '128' }],
    [{ maxLength: 0 }],
    [{ maxLength: Number.NaN }],
    [{ header: 'X Bad' }],
    [{ generate: 'uuid' }],
    [{ trustIncoming: 'yes' }],
    [{ headr: 'X-Id' }],
  ])('refuses %j', (options) => {
    expect(() => requestId(options as never)).toThrow(BulwarkConfigError);
  });

  it('lists every problem at once', () => {
    try {
      requestId({ maxLength: -1, header: '' });
      expect.unreachable();
    } catch (error) {
      expect((error as BulwarkConfigError).problems.length).toBeGreaterThanOrEqual(2);
    }
  });
});
