import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import {
  bodyLimits,
  BulwarkConfigError,
  securityEvents,
  type SecurityEvent,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express.js';
import { rawRequest } from '../helpers/raw-http.js';
import { captureWarnings } from '../helpers/warnings.js';

function build(factory: ExpressFactory, options?: Parameters<typeof bodyLimits>[0]) {
  const hits: unknown[] = [];
  const app = factory();
  app.use(bodyLimits(options));
  app.use((req, res) => {
    hits.push(req.body);
    res.json({ received: Buffer.isBuffer(req.body) ? 'buffer' : (req.body ?? null) });
  });
  return { app, hits };
}

function nested(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function chunked(body: string, size = 16 * 1024): string {
  let out = '';
  for (let i = 0; i < body.length; i += size) {
    const part = body.slice(i, i + size);
    out += `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`;
  }
  return `${out}0\r\n\r\n`;
}

const MEGABYTE_ARRAY = JSON.stringify(Array.from({ length: 200_000 }, (_, i) => i % 100_000));

describe.each(EXPRESS_VERSIONS)('bodyLimits on %s', (_name, factory) => {
  function rejected() {
    const seen: SecurityEvent[] = [];
    const off = securityEvents.on('request.rejected', (e) => seen.push(e));
    return { seen, off };
  }

  it('parses a JSON body into req.body', async () => {
    const { app, hits } = build(factory);
    const res = await request(app)
      .post('/')
      .send({ message: 'hi', list: [1, [2, { b: null }]] });
    expect(res.status).toBe(200);
    expect(hits).toEqual([{ message: 'hi', list: [1, [2, { b: null }]] }]);
  });

  it('lets requests without a body pass untouched', async () => {
    const { app, hits } = build(factory);
    expect((await request(app).get('/')).status).toBe(200);
    expect((await request(app).post('/').set('Content-Length', '0')).status).toBe(200);
    const zeros = await rawRequest(app, [
      'POST / HTTP/1.1',
      'Host: localhost',
      'Content-Length: 00',
      'Content-Type: text/plain',
    ]);
    expect(zeros.status).toBe(200);
    expect((await request(app).delete('/').set('Content-Type', 'text/plain')).status).toBe(200);
    expect(hits).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('accepts a body of exactly maxBytes', async () => {
    const { app } = build(factory, { maxBytes: 100 });
    const body = JSON.stringify({ s: 'x'.repeat(100 - 8) });
    expect(Buffer.byteLength(body)).toBe(100);
    const res = await request(app).post('/').set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(200);
  });

  it.each([
    ['one byte over (declared)', { maxBytes: 100 }, JSON.stringify({ s: 'x'.repeat(100 - 7) })],
    ['a 1 MB array of numbers under a 100 KB limit', { maxBytes: 100 * 1024 }, MEGABYTE_ARRAY],
  ])('answers 413 request.too_large for %s', async (_case, options, body) => {
    const { app, hits } = build(factory, options);
    const { seen, off } = rejected();
    const res = await request(app).post('/').set('Content-Type', 'application/json').send(body);
    off();
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('request.too_large');
    expect(hits).toEqual([]);
    expect(seen[0]?.reason).toBe('declared_too_large');
  });

  it.each([
    ['one byte over', 100, JSON.stringify({ s: 'x'.repeat(100 - 7) })],
    ['a 1 MB array of numbers under a 100 KB limit', 100 * 1024, MEGABYTE_ARRAY],
  ])('counts streamed bytes when no Content-Length is sent: %s', async (_case, maxBytes, body) => {
    const { app, hits } = build(factory, { maxBytes });
    const { seen, off } = rejected();
    const res = await rawRequest(
      app,
      [
        'POST / HTTP/1.1',
        'Host: localhost',
        'Content-Type: application/json',
        'Transfer-Encoding: chunked',
      ],
      { body: chunked(body) },
    );
    off();
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).code).toBe('request.too_large');
    expect(hits).toEqual([]);
    expect(seen[0]?.reason).toBe('too_large');
  });

  it('reads a chunked body under the limit', async () => {
    const { app, hits } = build(factory);
    const res = await rawRequest(
      app,
      [
        'POST / HTTP/1.1',
        'Host: localhost',
        'Content-Type: application/json',
        'Transfer-Encoding: chunked',
      ],
      { body: chunked('{"a":[1,2,3]}', 4) },
    );
    expect(res.status).toBe(200);
    expect(hits).toEqual([{ a: [1, 2, 3] }]);
  });

  it.each([
    ['text/plain', { 'Content-Type': 'text/plain' }, 'unsupported_media_type'],
    ['a form', { 'Content-Type': 'application/x-www-form-urlencoded' }, 'unsupported_media_type'],
    ['multipart', { 'Content-Type': 'multipart/form-data; boundary=x' }, 'unsupported_media_type'],
    ['a look-alike type', { 'Content-Type': 'application/jsonp' }, 'unsupported_media_type'],
    [
      'a malformed type',
      { 'Content-Type': 'application/json;;=' },
      'missing_or_malformed_content_type',
    ],
    [
      'a Latin-1 charset',
      { 'Content-Type': 'application/json; charset=latin1' },
      'unsupported_charset',
    ],
    [
      'a gzip body',
      { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      'content_encoding',
    ],
  ])('answers 415 for %s', async (_case, headers, reason) => {
    const { app, hits } = build(factory);
    const { seen, off } = rejected();
    let call = request(app).post('/');
    for (const [k, v] of Object.entries(headers)) call = call.set(k, v);
    const res = await call.send('{"a":1}');
    off();
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('request.unsupported_media_type');
    expect(hits).toEqual([]);
    expect(seen[0]?.reason).toBe(reason);
  });

  it('answers 415 for a body with no Content-Type', async () => {
    const { app, hits } = build(factory);
    const res = await rawRequest(app, ['POST / HTTP/1.1', 'Host: localhost', 'Content-Length: 7'], {
      body: '{"a":1}',
    });
    expect(res.status).toBe(415);
    expect(JSON.parse(res.body).code).toBe('request.unsupported_media_type');
    expect(hits).toEqual([]);
  });

  it.each([
    ['arrays 10,000 deep', '['.repeat(10_000) + ']'.repeat(10_000), {}],
    ['objects 10,000 deep', nested(10_000), { maxBytes: 1024 * 1024 }],
    ['one level over the default of 32', nested(33), {}],
    ['one level over a custom limit', '[[[1]]]', { maxDepth: 2 }],
  ])('answers 400 request.too_deep for %s', async (_case, body, options) => {
    const { app, hits } = build(factory, options);
    const { seen, off } = rejected();
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const res = await request(app).post('/').set('Content-Type', 'application/json').send(body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('request.too_deep');
      // Refused by the scan before any parsing: deep input never reaches recursive code.
      expect(parse.mock.calls.filter(([text]) => text === body)).toEqual([]);
    } finally {
      parse.mockRestore();
      off();
    }
    expect(hits).toEqual([]);
    expect(seen[0]?.reason).toBe('too_deep');
  });

  it('accepts exactly maxDepth levels and ignores brackets inside strings', async () => {
    const { app, hits } = build(factory);
    expect(
      (await request(app).post('/').set('Content-Type', 'application/json').send(nested(32)))
        .status,
    ).toBe(200);
    const tricky = JSON.stringify({ s: '[[[[{{{{'.repeat(20), t: 'a\\"[[[' });
    expect(
      (await request(app).post('/').set('Content-Type', 'application/json').send(tricky)).status,
    ).toBe(200);
    expect(hits).toHaveLength(2);
  });

  it.each([
    ['top-level __proto__', '{"__proto__":{"admin":true}}'],
    ['nested constructor.prototype', '{"a":[{"constructor":{"prototype":{"admin":true}}}]}'],
    ['prototype', '{"user":{"prototype":1}}'],
    ['an escaped __proto__', '{"\\u005f_proto__":{"admin":true}}'],
    ['__proto__ deep in an array', '[1,[2,[{"ok":1},{"__proto__":{"admin":true}}]]]'],
  ])(
    'answers 400 request.forbidden_key for %s and leaves Object.prototype clean',
    async (_case, body) => {
      const { app, hits } = build(factory);
      const { seen, off } = rejected();
      const res = await request(app).post('/').set('Content-Type', 'application/json').send(body);
      off();
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('request.forbidden_key');
      expect(hits).toEqual([]);
      expect(seen[0]?.reason).toBe('forbidden_key');
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('admin');
    },
  );

  it('allows those words as values and inside longer keys', async () => {
    const { app, hits } = build(factory);
    const body = '{"note":"__proto__ constructor prototype","constructorName":"x"}';
    const res = await request(app).post('/').set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(200);
    expect(hits).toEqual([{ note: '__proto__ constructor prototype', constructorName: 'x' }]);
  });

  it.each([
    ['a syntax error', '{"a":'],
    ['a trailing comma', '{"a":1,}'],
    ['whitespace only', '   '],
    ['a secret-looking value', '{"password":"FAKE-secret-test",}'],
  ])('answers 400 request.invalid_json for %s without echoing it', async (_case, body) => {
    const { app, hits } = build(factory);
    const res = await request(app).post('/').set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('request.invalid_json');
    expect(res.text).not.toContain('FAKE');
    expect(res.text).not.toMatch(/Unexpected|position/);
    expect(hits).toEqual([]);
  });

  it('parses +json types that are listed and reads other listed types as a Buffer', async () => {
    const { app, hits } = build(factory, {
      types: ['application/json', 'application/merge-patch+json', 'application/octet-stream'],
    });
    const patch = await request(app)
      .post('/')
      .set('Content-Type', 'application/merge-patch+json')
      .send('{"a":null}');
    expect(patch.body.received).toEqual({ a: null });
    const raw = await request(app)
      .post('/')
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.from([1, 2, 3]));
    expect(raw.body.received).toBe('buffer');
    expect(Buffer.isBuffer(hits[1])).toBe(true);
  });

  it('keeps a later express.json() from reading the body again', async () => {
    const app = factory();
    app.use(bodyLimits());
    app.use(factory.json());
    app.post('/', (req, res) => res.json(req.body));
    const res = await request(app).post('/').send({ a: 1 });
    expect(res.body).toEqual({ a: 1 });
  });
});

describe('bodyLimits after another parser', () => {
  it('warns once and passes', async () => {
    const warnings = captureWarnings();
    const factory = EXPRESS_VERSIONS[0][1];
    const app = factory();
    app.use(factory.json());
    app.use(bodyLimits());
    app.post('/', (req, res) => res.json(req.body));
    const res = await request(app).post('/').send({ a: 1 });
    expect(res.status).toBe(200);
    expect(warnings.codes()).toEqual(['BULWARK_BODY_ALREADY_PARSED']);
  });
});

describe('bodyLimits options', () => {
  it.each([
    ["maxBytes '1mb'", { maxBytes: '1mb' }],
    ["maxBytes '100000'", { maxBytes: '100000' }],
    ['maxBytes -1', { maxBytes: -1 }],
    ['maxBytes 0', { maxBytes: 0 }],
    ['maxBytes NaN', { maxBytes: Number.NaN }],
    ['maxBytes Infinity', { maxBytes: Number.POSITIVE_INFINITY }],
    ['maxBytes null', { maxBytes: null }],
    ['maxBytes {}', { maxBytes: {} }],
    ['maxBytes 1.5', { maxBytes: 1.5 }],
    ['maxDepth 0', { maxDepth: 0 }],
    ['maxDepth 10,000', { maxDepth: 10_000 }],
    ["maxDepth '32'", { maxDepth: '32' }],
    ['types empty', { types: [] }],
    ['types a string', { types: 'application/json' }],
    ['types a bad entry', { types: ['json'] }],
    ['types a wildcard', { types: ['*/*'] }],
    ['an unknown key', { limit: 100 }],
  ])('refuses %s', (_case, options) => {
    expect(() => bodyLimits(options as never)).toThrow(BulwarkConfigError);
  });

  it('is a named function', () => {
    expect(bodyLimits().name).toBe('bodyLimitsMiddleware');
  });
});

describe.each(EXPRESS_VERSIONS)('bodyLimits problem details on %s', (_name, factory) => {
  it.each([
    [
      'a body over the limit',
      (r: request.Test) => r.set('Content-Type', 'application/json').send(`"${'x'.repeat(64)}"`),
      413,
      'request.too_large',
      'Request bodies are limited to 32 bytes.',
    ],
    [
      'an unaccepted type',
      (r: request.Test) => r.set('Content-Type', 'text/plain').send('hi'),
      415,
      'request.unsupported_media_type',
      'Accepted content types: application/json.',
    ],
    [
      'a non-UTF-8 JSON body',
      (r: request.Test) => r.set('Content-Type', 'application/json; charset=latin1').send('{}'),
      415,
      'request.unsupported_media_type',
      'JSON bodies must be UTF-8.',
    ],
    [
      'a body nested too deeply',
      (r: request.Test) => r.set('Content-Type', 'application/json').send('[[[1]]]'),
      400,
      'request.too_deep',
      'JSON bodies may nest at most 2 levels deep.',
    ],
  ])(
    '%s gets a detail naming the setting, not the input',
    async (_case, send, status, code, detail) => {
      const { app, hits } = build(factory, { maxBytes: 32, maxDepth: 2 });
      const res = await send(request(app).post('/'));
      expect({ status: res.status, code: res.body.code, detail: res.body.detail }).toEqual({
        status,
        code,
        detail,
      });
      expect(hits).toEqual([]);
    },
  );

  it('sends an internal failure (a stream another middleware set an encoding on) to next(err), not a 400', async () => {
    const app = factory();
    const errors: unknown[] = [];
    let ran = false;
    app.use((req, _res, next) => {
      req.setEncoding('latin1');
      next();
    });
    app.use(bodyLimits());
    app.use(() => {
      ran = true;
    });
    app.use(
      (
        error: unknown,
        _req: unknown,
        res: { status(code: number): { end(): void } },
        _next: unknown,
      ) => {
        errors.push(error);
        res.status(500).end();
      },
    );
    const res = await request(app).post('/').send({ a: 1 });
    expect(res.status).toBe(500);
    expect(errors).toHaveLength(1);
    expect(ran).toBe(false);
  });
});
