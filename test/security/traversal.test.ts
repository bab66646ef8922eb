import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  pathGuard,
  PathTraversalError,
  resolveWithin,
  resolveWithinReal,
  securityEvents,
  type SecurityEvent,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express.js';
import { onTheWire, rawGet } from '../helpers/raw-http.js';
import { PAYLOAD_SOURCES, TRAVERSAL_PAYLOADS } from './traversal-payloads.js';

const base = realpathSync(mkdtempSync(path.join(tmpdir(), 'bulwark-traversal-')));
const root = path.join(base, 'data');
for (const dir of ['docs/nested', '.git', 'etc'])
  mkdirSync(path.join(root, dir), { recursive: true });
for (const file of [
  'docs/readme.txt',
  'docs/nested/deep.md',
  'docs/café.txt',
  'docs/my file.txt',
  '.env',
  '.git/config',
  'etc/passwd',
]) {
  writeFileSync(path.join(root, file), 'test');
}
mkdirSync(path.join(base, 'data-evil'));
writeFileSync(path.join(base, 'data-evil', 'secret.txt'), 'FAKE secret');

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

/** Every form a chain of decoders would produce, stopping where decoding fails. */
function decodeLevels(payload: string): string[] {
  const levels = [payload];
  for (;;) {
    const last = levels.at(-1) ?? payload;
    let next: string;
    try {
      next = decodeURIComponent(last);
    } catch {
      return levels;
    }
    if (next === last) return levels;
    levels.push(next);
  }
}

function decodable(value: string): boolean {
  try {
    decodeURIComponent(value);
    return true;
  } catch {
    return false;
  }
}

describe('the payload table', () => {
  it('holds at least 50 payloads, each from a named public source', () => {
    expect(TRAVERSAL_PAYLOADS.length).toBeGreaterThanOrEqual(50);
    for (const [family] of TRAVERSAL_PAYLOADS) expect(PAYLOAD_SOURCES[family]).toBeTruthy();
  });
});

describe('resolveWithin refuses every payload at every decoding depth', () => {
  it.each(TRAVERSAL_PAYLOADS)('%s: %j', async (_family, payload) => {
    for (const level of decodeLevels(payload)) {
      expect(() => resolveWithin(root, level), JSON.stringify(level)).toThrow(PathTraversalError);
      await expect(resolveWithinReal(root, level), JSON.stringify(level)).rejects.toThrow(
        PathTraversalError,
      );
    }
  });
});

describe.each(EXPRESS_VERSIONS)('pathGuard over HTTP on %s', (name, factory: ExpressFactory) => {
  // Express 5 names its wildcard and splits it into segments; Express 4's `*` is `params[0]`.
  const route = name === 'express5' ? '/files/*splat' : '/files/*';
  const param = name === 'express5' ? 'splat' : '0';
  const echoRoute = name === 'express5' ? '/echo/*rest' : '/echo/*';
  const echoParam = name === 'express5' ? 'rest' : '0';
  let ran: number;
  let arrived: unknown[];
  let events: SecurityEvent[];

  beforeEach(() => {
    ran = 0;
    arrived = [];
    events = [];
    return securityEvents.on('path.traversal_blocked', (e) => events.push(e));
  });

  function app() {
    const a = factory();
    a.get(route, pathGuard({ root, from: `param:${param}` }), (req, res) => {
      ran++;
      res.json({ safePath: req.safePath });
    });
    a.get('/q', pathGuard({ root, from: 'query:file' }), (req, res) => {
      ran++;
      res.json({ safePath: req.safePath });
    });
    a.get(echoRoute, (req, res) => {
      const value = (req.params as Record<string, unknown>)[echoParam];
      arrived.push(Array.isArray(value) ? value.join('/') : value);
      res.json({});
    });
    return a;
  }

  it.each(TRAVERSAL_PAYLOADS)('refuses %s %j in a route parameter', async (_family, payload) => {
    const wire = onTheWire(payload);
    const res = await rawGet(app(), `/files/${wire}`);
    expect(res.status).toBe(400);
    expect(ran).toBe(0);
    if (decodable(wire)) {
      expect(JSON.parse(res.body)).toMatchObject({ code: 'path.traversal' });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ source: `param:${param}` });
    } else {
      // Express cannot decode the parameter and answers 400 itself: the route never runs.
      expect(res.headers['content-type']).not.toContain('problem+json');
      expect(events).toHaveLength(0);
    }
  });

  it.each(TRAVERSAL_PAYLOADS)('refuses %s %j in a query parameter', async (_family, payload) => {
    const res = await rawGet(app(), `/q?file=${onTheWire(payload)}`);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'path.traversal' });
    expect(res.body).not.toContain('passwd');
    expect(ran).toBe(0);
    expect(events).toHaveLength(1);
    expect(events[0]?.reason).toEqual(expect.any(String));
  });

  it.each([
    ['/echo/../../etc/passwd', '../../etc/passwd'],
    ['/echo/..%2f..%2fetc', '../../etc'],
    ['/echo/%252e%252e%252f', '%2e%2e%2f'],
    ['/echo/..%5c..', '..\\..'],
    ['/echo/..\\..', '..\\..'],
    ['/echo/%ef%bc%8e%ef%bc%8e%ef%bc%8f', '．．／'],
    ['/echo/a%00b', 'a\0b'],
    ['/echo//etc/passwd', '/etc/passwd'],
    ['/echo/..;/x', '..;/x'],
    ['/echo/a%2Fb/c', 'a/b/c'],
  ])('decodes %s exactly once before the guard sees it', async (target, expected) => {
    const res = await rawGet(app(), target);
    expect(res.status).toBe(200);
    expect(arrived).toEqual([expected]);
  });

  it.each(['/echo/%c0%ae%c0%ae/x', '/echo/%uff0e', '/echo/%e0%80%ae'])(
    'answers 400 before any route for the undecodable %s',
    async (target) => {
      const res = await rawGet(app(), target);
      expect(res.status).toBe(400);
      expect(arrived).toEqual([]);
    },
  );

  it.each([
    ['docs/readme.txt', 'docs/readme.txt'],
    ['docs/nested/deep.md', 'docs/nested/deep.md'],
    ['docs/café.txt', 'docs/café.txt'],
    ['docs/my file.txt', 'docs/my file.txt'],
    ['docs//nested///deep.md', 'docs/nested/deep.md'],
    ['docs/new-file.txt', 'docs/new-file.txt'],
  ])('accepts the legitimate %j', async (input, expected) => {
    const viaParam = await rawGet(app(), `/files/${onTheWire(input)}`);
    expect(viaParam.status).toBe(200);
    expect(JSON.parse(viaParam.body)).toEqual({ safePath: path.join(root, expected) });
    const viaQuery = await rawGet(app(), `/q?file=${onTheWire(input)}`);
    expect(viaQuery.status).toBe(200);
    expect(JSON.parse(viaQuery.body)).toEqual({ safePath: path.join(root, expected) });
    expect(ran).toBe(2);
  });
});

describe('PathTraversalError', () => {
  it('renders without echoing the input', () => {
    try {
      resolveWithin(root, '../../etc/passwd');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PathTraversalError);
      const problem = (error as PathTraversalError).toProblem();
      expect(problem).toEqual({
        type: 'urn:bulwark:problem:path.traversal',
        title: 'Path not allowed',
        status: 400,
        code: 'path.traversal',
        detail: 'The requested path is not allowed.',
      });
      expect((error as PathTraversalError).reason).toBe('dot_segment');
    }
  });
});
