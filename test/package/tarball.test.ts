import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Installs the packed tarball into a fresh project and uses it from CommonJS,
// ESM and TypeScript (nodenext), so what users get is tested, not the source
// tree. Child processes run asynchronously: a synchronous call would block the
// test worker for the whole install.
const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
let work = '';
let tarball = '';
let project = '';

async function sh(command: string, args: string[], cwd: string): Promise<string> {
  const { stdout } = await run(command, args, { cwd, encoding: 'utf8', maxBuffer: 16 << 20 });
  return stdout;
}

const APP = `
const app = express();
app.use(requestId());
app.get('/boom', () => { throw new BulwarkError('auth.forbidden'); });
app.use(errorHandler({ env: 'production' }));
const server = app.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const res = await fetch('http://127.0.0.1:' + port + '/boom');
  const body = await res.json();
  console.log(JSON.stringify({ status: res.status, code: body.code, id: res.headers.get('x-request-id') !== null }));
  server.close();
});
`;

const TS_APP = `import express from 'express';
import { BulwarkError, errorHandler, requestId, type ProblemDocument } from 'bulwark';
const problem: ProblemDocument = new BulwarkError('auth.forbidden').toProblem();
void problem;
const app = express();
app.use(requestId());
app.get('/id', (req, res) => { const id: string | undefined = req.requestId; res.json({ id }); });
app.get('/boom', () => { throw new BulwarkError('auth.forbidden'); });
app.use(errorHandler({ env: 'production' }));
const server = app.listen(0, '127.0.0.1', async () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const res = await fetch('http://127.0.0.1:' + String(address.port) + '/boom');
  const body = (await res.json()) as ProblemDocument;
  console.log(JSON.stringify({ status: res.status, code: body.code, id: res.headers.get('x-request-id') !== null }));
  server.close();
});
`;

const EXPECTED = { status: 403, code: 'auth.forbidden', id: true };

// validate()'s output types on a route's handler, with authentication before or
// after it: compiled (never run) against each Express major's types, with the
// TypeScript this project builds with and the newest one users install.
const TYPED_ROUTES = `import express, { type RequestHandler } from 'express';
import * as z from 'zod';
import { apiKeyAuth, jwtAuth, requireRole, requireScope, validate, type ApiKeyService, type TokenService } from 'bulwark';
declare const tokens: TokenService;
declare const keys: ApiKeyService;
const schemas = {
  params: z.strictObject({ id: z.string().transform(Number) }),
  query: z.strictObject({ verbose: z.stringbool().optional() }),
  body: z.strictObject({ message: z.string() }),
};
const app = express();
const router = express.Router();
app.use(jwtAuth({ tokens, credentialsRequired: false }));
router.use(apiKeyAuth({ keys }), requireScope('read'));
const plain: RequestHandler = requireRole('admin');
void plain;
app.post('/a/:id', jwtAuth({ tokens }), validate(schemas), (req, res) => {
  const id: number = req.params.id;
  const verbose: boolean | undefined = req.query.verbose;
  const message: string = req.body.message;
  // @ts-expect-error -- the body schema has no \`nope\`: the body is typed, not any
  res.json({ id, verbose, message, sub: req.auth?.sub, nope: req.body.nope });
});
app.post('/b/:id', validate(schemas), jwtAuth({ tokens }), requireRole('admin'), (req, res) => {
  const id: number = req.params.id;
  res.json({ id, message: req.body.message });
});
router.post('/c/:id', apiKeyAuth({ keys }), requireScope('write'), validate(schemas), (req, res) => {
  const id: number = req.params.id;
  res.json({ id, key: req.apiKey?.id });
});
app.get('/users/:name', jwtAuth({ tokens }), (req, res) => {
  const name: string = req.params.name;
  res.json({ name });
});
`;

/** How a strict ESM consumer compiles against the packed types: nothing skipped. */
const CONSUMER_COMPILER_OPTIONS = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  target: 'es2022',
  strict: true,
  types: [],
  skipLibCheck: false,
};

async function typeCheckRoutes(dir: string): Promise<void> {
  await writeFile(join(dir, 'routes.mts'), TYPED_ROUTES);
  await writeFile(
    join(dir, 'tsconfig.routes.json'),
    JSON.stringify({
      compilerOptions: { ...CONSUMER_COMPILER_OPTIONS, noEmit: true },
      files: ['routes.mts'],
    }),
  );
  for (const tsc of [
    join(root, 'node_modules/.bin/tsc'),
    join(dir, 'node_modules/typescript-latest/bin/tsc'),
  ]) {
    await sh('node', [tsc, '-p', 'tsconfig.routes.json'], dir);
  }
}

// authRouter builds its Router with the app's own express (a peer dependency):
// run a login and a logout through it on Express 4, from both module systems.
const ROUTER_APP = `
securityEvents.setSink(null);
const password = 'test-FAKE-password-1';
const user = { id: 'u1', username: 'ann', passwordHash: await hashPassword(password, { cost: 10 }), roles: ['user'] };
const users = {
  findByUsername: async (name) => (name === 'ann' ? user : undefined),
  findById: async (id) => (id === 'u1' ? user : undefined),
};
const tokens = createTokenService({
  secret: 'test-FAKE-jwt-secret-for-the-tarball-check-0123456789',
  issuer: 'https://issuer.example.test',
  audience: 'tarball-test',
  store: memoryStore(),
});
const app = express();
app.use('/auth', authRouter({ tokens, users, passwordHashCost: 10 }));
app.use(errorHandler());
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = 'http://127.0.0.1:' + server.address().port + '/auth/';
const post = (path, body, headers = {}) =>
  fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const login = await post('login', { username: 'ann', password });
const pair = await login.json();
const wrong = await post('login', { username: 'ann', password: 'wrong-test' });
const logout = await post('logout', {}, { authorization: 'Bearer ' + pair.access_token });
const major = JSON.parse(readFileSync('node_modules/express/package.json', 'utf8')).version.split('.')[0];
console.log(JSON.stringify({ major, login: login.status, wrong: (await wrong.json()).code, logout: logout.status }));
server.close();
`;

const ROUTER_EXPECTED = { major: '4', login: 200, wrong: 'auth.invalid_credentials', logout: 204 };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bulwark-pack-'));
  await sh('npm', ['pack', '--pack-destination', work], root);
  const file = (await readdir(work)).find((f) => f.endsWith('.tgz'));
  if (file === undefined) throw new Error('npm pack produced no tarball');
  tarball = join(work, file);
  project = join(work, 'app');
  await sh('mkdir', ['-p', project], work);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  await writeFile(
    join(project, 'index.cjs'),
    `const express = require('express');\nconst { BulwarkError, errorHandler, requestId } = require('bulwark');\n${APP}`,
  );
  await writeFile(
    join(project, 'index.mjs'),
    `import express from 'express';\nimport { BulwarkError, errorHandler, requestId } from 'bulwark';\n${APP}`,
  );
  await writeFile(join(project, 'index.mts'), TS_APP);
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { ...CONSUMER_COMPILER_OPTIONS, outDir: 'out' },
      files: ['index.mts'],
    }),
  );
  await sh(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarball,
      'express@^5',
      '@types/express@^5',
      '@types/node@^20',
      'zod@^4',
      'typescript-latest@npm:typescript@latest',
    ],
    project,
  );
}, 240_000);

afterAll(async () => {
  if (work !== '') await rm(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('contains only dist, README, LICENSE, CHANGELOG and package.json', async () => {
    const listing = (await sh('tar', ['-tzf', tarball], work)).trim().split('\n');
    const outside = listing.filter(
      (path) => !/^package\/(dist\/.+|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/.test(path),
    );
    expect(outside).toEqual([]);
    expect(listing).toContain('package/dist/index.cjs');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).toContain('package/dist/cli.js');
  });

  it('works from CommonJS', async () => {
    expect(JSON.parse(await sh('node', ['index.cjs'], project))).toEqual(EXPECTED);
  });

  it('works from ESM', async () => {
    expect(JSON.parse(await sh('node', ['index.mjs'], project))).toEqual(EXPECTED);
  });

  it('type-checks and runs from TypeScript with nodenext resolution', async () => {
    await sh(join(root, 'node_modules/.bin/tsc'), ['-p', '.'], project);
    expect(JSON.parse(await sh('node', ['out/index.mjs'], project))).toEqual(EXPECTED);
  }, 120_000);

  it('keeps typed route handlers after jwtAuth on Express 5 types, with TypeScript 5.9 and the newest', async () => {
    await typeCheckRoutes(project);
  }, 120_000);

  it('keeps typed route handlers after jwtAuth on Express 4 types, with TypeScript 5.9 and the newest', async () => {
    const dir = join(work, 'types4-app');
    await sh('mkdir', ['-p', dir], work);
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'types4-app', private: true }),
    );
    await sh(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        tarball,
        'express@^4',
        '@types/express@^4',
        '@types/node@^20',
        'zod@^4',
        'typescript-latest@npm:typescript@latest',
      ],
      dir,
    );
    await typeCheckRoutes(dir);
  }, 240_000);

  it("builds authRouter with the app's Express 4, from CommonJS and ESM", async () => {
    const dir = join(work, 'express4-app');
    await sh('mkdir', ['-p', dir], work);
    const names =
      'authRouter, createTokenService, errorHandler, hashPassword, memoryStore, securityEvents';
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'express4-app', private: true }),
    );
    await writeFile(
      join(dir, 'index.cjs'),
      `const express = require('express');\nconst { readFileSync } = require('node:fs');\nconst { ${names} } = require('bulwark');\n(async () => {\n${ROUTER_APP}\n})();\n`,
    );
    await writeFile(
      join(dir, 'index.mjs'),
      `import express from 'express';\nimport { readFileSync } from 'node:fs';\nimport { ${names} } from 'bulwark';\n${ROUTER_APP}`,
    );
    await sh(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, 'express@^4'],
      dir,
    );
    expect(JSON.parse(await sh('node', ['index.cjs'], dir))).toEqual(ROUTER_EXPECTED);
    expect(JSON.parse(await sh('node', ['index.mjs'], dir))).toEqual(ROUTER_EXPECTED);
  }, 120_000);

  it('ships the common-password list once, as data both module systems read', async () => {
    const listing = (await sh('tar', ['-tzf', tarball], work)).trim().split('\n');
    expect(listing).toContain('package/dist/common-passwords.txt');
    const dist = join(project, 'node_modules/bulwark/dist');
    for (const bundle of ['index.js', 'index.cjs', 'cli.js']) {
      expect(await readFile(join(dist, bundle), 'utf8')).not.toContain('"baseball"');
    }
    const check = "checkPasswordPolicy('Baseball2024!').problems.map((p) => p.code)";
    const cjs = await sh(
      'node',
      ['-e', `console.log(JSON.stringify(require('bulwark').${check}))`],
      project,
    );
    const esm = await sh(
      'node',
      [
        '--input-type=module',
        '-e',
        `const { checkPasswordPolicy } = await import('bulwark'); console.log(JSON.stringify(${check}))`,
      ],
      project,
    );
    expect(JSON.parse(cjs)).toEqual(['common']);
    expect(JSON.parse(esm)).toEqual(['common']);
  });

  it('ships a working `bulwark` bin', async () => {
    const help = await sh(join(project, 'node_modules/.bin/bulwark'), ['--help'], project);
    expect(help).toContain('doctor');
  });
});
