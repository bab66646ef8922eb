import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  errorHandler,
  pathGuard,
  securityEvents,
  type PathGuardOptions,
  type SecurityEvent,
} from '../../src/index.js';
import { EXPRESS_VERSIONS } from '../helpers/express.js';
import { onTheWire, rawGet } from '../helpers/raw-http.js';
import { LONG_NAMES } from './long-names.js';

const base = realpathSync(mkdtempSync(path.join(tmpdir(), 'bulwark-guard-')));
const root = path.join(base, 'files');
const outside = path.join(base, 'outside');
mkdirSync(path.join(root, 'docs'), { recursive: true });
mkdirSync(path.join(root, '.well-known'));
mkdirSync(outside);
writeFileSync(path.join(root, 'docs', 'readme.txt'), 'hello');
writeFileSync(path.join(root, '.well-known', 'security.txt'), 'contact');
writeFileSync(path.join(outside, 'secret.txt'), 'FAKE secret');
writeFileSync(path.join(base, 'a-file'), 'x');
symlinkSync(outside, path.join(root, 'escape'));
symlinkSync(root, path.join(base, 'files-link'));
linkSync(path.join(outside, 'secret.txt'), path.join(root, 'docs', 'hard-link.txt'));

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

describe.each(EXPRESS_VERSIONS)('pathGuard on %s', (name, factory) => {
  const splat = name === 'express5' ? '/files/*splat' : '/files/*';
  const splatParam = name === 'express5' ? 'param:splat' : 'param:0';
  let ran: number;
  let events: SecurityEvent[];

  beforeEach(() => {
    ran = 0;
    events = [];
    return securityEvents.on('path.traversal_blocked', (e) => events.push(e));
  });

  function appWith(route: string, options: PathGuardOptions) {
    const app = factory();
    app.get(route, pathGuard(options), (req, res) => {
      ran++;
      // The guard decides about dotfiles; Express 5's sendFile would also hide them.
      res.sendFile(req.safePath ?? '', { dotfiles: 'allow' });
    });
    app.use(errorHandler({ env: 'production' }));
    return app;
  }

  it('serves a file under the root through req.safePath', async () => {
    const res = await request(appWith(splat, { root, from: splatParam })).get(
      '/files/docs/readme.txt',
    );
    expect(res.status).toBe(200);
    expect(res.text).toBe('hello');
    expect(ran).toBe(1);
  });

  it('reads a single named parameter', async () => {
    const app = appWith('/docs/:name', { root: path.join(root, 'docs'), from: 'param:name' });
    const ok = await request(app).get('/docs/readme.txt');
    expect(ok.text).toBe('hello');
    const bad = await rawGet(app, '/docs/..%2f..%2foutside%2fsecret.txt');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ code: 'path.traversal', status: 400 });
    expect(bad.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(ran).toBe(1);
  });

  it('refuses a symlink that leaves the root, with an event that carries no path value', async () => {
    const res = await request(appWith(splat, { root, from: splatParam })).get(
      '/files/escape/secret.txt',
    );
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('FAKE');
    expect(res.body).toEqual({
      type: 'urn:bulwark:problem:path.traversal',
      title: 'Path not allowed',
      status: 400,
      code: 'path.traversal',
      detail: 'The requested path is not allowed.',
    });
    expect(ran).toBe(0);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'path.traversal_blocked',
      reason: 'symlink_escape',
      source: splatParam,
      method: 'GET',
    });
  });

  it('refuses dotfiles unless allowed', async () => {
    const strict = appWith(splat, { root, from: splatParam });
    expect((await request(strict).get('/files/.well-known/security.txt')).status).toBe(400);
    expect(events[0]?.reason).toBe('dotfile');
    const allowed = appWith(splat, { root, from: splatParam, allowDotfiles: true });
    const res = await request(allowed).get('/files/.well-known/security.txt');
    expect(res.status).toBe(200);
    expect(res.text).toBe('contact');
    expect(ran).toBe(1);
  });

  it('restricts extensions', async () => {
    const app = appWith(splat, { root, from: splatParam, extensions: ['.md'] });
    expect((await request(app).get('/files/docs/readme.txt')).status).toBe(400);
    expect(events[0]?.reason).toBe('extension');
    expect(ran).toBe(0);
  });

  it.each(LONG_NAMES)(
    'refuses a segment of %s with 400 before the handler',
    async (_case, long) => {
      const app = appWith(splat, { root, from: splatParam });
      for (const target of [`/files/${long}`, `/files/docs/${long}`, `/files/${long}/x.txt`]) {
        const res = await rawGet(app, onTheWire(target));
        expect(res.status).toBe(400);
        expect(JSON.parse(res.body)).toMatchObject({ status: 400, code: 'path.traversal' });
      }
      expect(events.map((e) => e.reason)).toEqual(Array(3).fill('name_too_long'));
      expect(ran).toBe(0);
    },
  );

  it.each(LONG_NAMES)('lets a 255-byte name through (%s, one byte shorter)', async (_c, _l, ok) => {
    const app = factory();
    app.get(splat, pathGuard({ root, from: splatParam }), (req, res) => {
      ran++;
      res.json({ safePath: req.safePath });
    });
    const res = await rawGet(app, onTheWire(`/files/${ok}`));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ safePath: path.join(root, ok) });
    expect(ran).toBe(1);
    expect(events).toHaveLength(0);
  });

  it('refuses a hard-linked file unless allowHardLinks', async () => {
    const strict = appWith(splat, { root, from: splatParam });
    const res = await request(strict).get('/files/docs/hard-link.txt');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('path.traversal');
    expect(res.text).not.toContain('FAKE');
    expect(events[0]?.reason).toBe('hard_link');
    expect(ran).toBe(0);
    const allowed = appWith(splat, { root, from: splatParam, allowHardLinks: true });
    expect((await request(allowed).get('/files/docs/hard-link.txt')).text).toBe('FAKE secret');
    expect(ran).toBe(1);
  });

  it('honours maxLength', async () => {
    const app = appWith(splat, { root, from: splatParam, maxLength: 10 });
    expect((await request(app).get('/files/docs/readme.txt')).status).toBe(400);
    expect(events[0]?.reason).toBe('too_long');
    expect(ran).toBe(0);
  });

  it.each([
    ['missing', '/q', 'missing'],
    ['repeated', '/q?file=docs/readme.txt&file=x', 'invalid_type'],
    ['nested (Express 4 qs)', '/q?file[a]=docs', name === 'express5' ? 'missing' : 'invalid_type'],
    ['empty', '/q?file=', 'empty'],
  ])('refuses a %s query parameter', async (_case, target, reason) => {
    const app = appWith('/q', { root, from: 'query:file' });
    const res = await request(app).get(target);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('path.traversal');
    expect(events[0]?.reason).toBe(reason);
    expect(ran).toBe(0);
  });

  it('takes the path from a function returning a string or segments', async () => {
    const fromHeader = appWith('/h', { root, from: (req) => req.get('x-file') });
    expect((await request(fromHeader).get('/h').set('X-File', 'docs/readme.txt')).text).toBe(
      'hello',
    );
    expect((await request(fromHeader).get('/h').set('X-File', '../x')).status).toBe(400);
    expect((await request(fromHeader).get('/h')).status).toBe(400);
    const segments = appWith('/s', { root, from: () => ['docs', 'readme.txt'] });
    expect((await request(segments).get('/s')).text).toBe('hello');
    const mixed = appWith('/m', { root, from: () => ['docs', 5] });
    expect((await request(mixed).get('/m')).status).toBe(400);
    expect(ran).toBe(2);
  });

  it('passes an error thrown by the source function to the error handler', async () => {
    const app = appWith('/h', {
      root,
      from: () => {
        throw new Error('FAKE source failure');
      },
    });
    const res = await request(app).get('/h');
    expect(res.status).toBe(500);
    expect(res.text).not.toContain('FAKE');
    expect(events).toHaveLength(0);
    expect(ran).toBe(0);
  });

  it('resolves a root given through a symlink once, at creation', async () => {
    const app = appWith(splat, { root: path.join(base, 'files-link'), from: splatParam });
    const res = await request(app).get('/files/docs/readme.txt');
    expect(res.status).toBe(200);
    expect(ran).toBe(1);
  });
});

describe('pathGuard options', () => {
  const valid = { root, from: 'param:path' } as const;

  it.each([
    ['no options', undefined],
    ['null', null],
    ['a missing root', { from: 'param:path' }],
    ['a root that does not exist', { ...valid, root: path.join(base, 'nope') }],
    ['a root that is a file', { ...valid, root: path.join(base, 'a-file') }],
    ['an empty root', { ...valid, root: '' }],
    ['a numeric root', { ...valid, root: 5 }],
    ['a missing from', { root }],
    ['from without a name', { ...valid, from: 'param:' }],
    ['from with an unknown part', { ...valid, from: 'body:file' }],
    ['from as a number', { ...valid, from: 5 }],
    ['maxLength -1', { ...valid, maxLength: -1 }],
    ['maxLength NaN', { ...valid, maxLength: Number.NaN }],
    ['maxLength Infinity', { ...valid, maxLength: Number.POSITIVE_INFINITY }],
    ["maxLength '5'", { ...valid, maxLength: '5' }],
    ['maxLength null', { ...valid, maxLength: null }],
    ['maxLength {}', { ...valid, maxLength: {} }],
    ['allowDotfiles "true"', { ...valid, allowDotfiles: 'true' }],
    ['extensions without a dot', { ...valid, extensions: ['txt'] }],
    ['extensions as a string', { ...valid, extensions: '.txt' }],
    ['an empty extension list', { ...valid, extensions: [] }],
    ['an unknown key', { ...valid, allowDotFiles: true }],
    ['allowHardLinks "yes"', { ...valid, allowHardLinks: 'yes' }],
  ])('refuses %s', (_case, options) => {
    expect(() => pathGuard(options as never)).toThrow(BulwarkConfigError);
  });

  it('lists every problem at once', () => {
    try {
      pathGuard({ root: path.join(base, 'nope'), from: 'x', maxLength: -1 } as never);
      expect.unreachable();
    } catch (error) {
      expect((error as BulwarkConfigError).problems).toHaveLength(3);
    }
  });

  it('suggests the right spelling', () => {
    expect(() => pathGuard({ ...valid, extension: ['.txt'] } as never)).toThrow(
      /Did you mean `extensions`/,
    );
  });
});
