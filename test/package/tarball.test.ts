import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Installs the packed tarball into fresh CJS, ESM and TypeScript (nodenext)
// projects, so what users get is tested, not the source tree.
const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'bulwark-pack-'));
let tarball = '';

const execFileAsync = promisify(execFile);

// Asynchronous, so the test worker keeps answering vitest while npm installs.
async function run(command: string, args: string[], cwd: string): Promise<string> {
  const { stdout } = await execFileAsync(command, args, { cwd, encoding: 'utf8' });
  return stdout;
}

async function project(
  name: string,
  packageJson: object,
  files: Record<string, string>,
  express = 'express@^5',
): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, ...packageJson }));
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, express],
    dir,
  );
  return dir;
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

const EXPECTED = { status: 403, code: 'auth.forbidden', id: true };

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
  await run('npm', ['pack', '--pack-destination', work], root);
  const file = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (file === undefined) throw new Error('npm pack produced no tarball');
  tarball = join(work, file);
}, 120_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('contains only dist, README, LICENSE, CHANGELOG and package.json', async () => {
    const listing = (await run('tar', ['-tzf', tarball], work)).trim().split('\n');
    const outside = listing.filter(
      (path) => !/^package\/(dist\/.+|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/.test(path),
    );
    expect(outside).toEqual([]);
    expect(listing).toContain('package/dist/index.cjs');
    expect(listing).toContain('package/dist/index.d.ts');
  });

  it('works from CommonJS', async () => {
    const dir = await project(
      'cjs-app',
      {},
      {
        'index.js': `const express = require('express');\nconst { BulwarkError, errorHandler, requestId } = require('bulwark');\n${APP}`,
      },
    );
    expect(JSON.parse(await run('node', ['index.js'], dir))).toEqual(EXPECTED);
  }, 120_000);

  it('works from ESM', async () => {
    const dir = await project(
      'esm-app',
      { type: 'module' },
      {
        'index.js': `import express from 'express';\nimport { BulwarkError, errorHandler, requestId } from 'bulwark';\n${APP}`,
      },
    );
    expect(JSON.parse(await run('node', ['index.js'], dir))).toEqual(EXPECTED);
  }, 120_000);

  it("builds authRouter with the app's Express 4, from CommonJS and ESM", async () => {
    const names =
      'authRouter, createTokenService, errorHandler, hashPassword, memoryStore, securityEvents';
    const dir = await project(
      'router-app',
      {},
      {
        'index.cjs': `const express = require('express');\nconst { readFileSync } = require('node:fs');\nconst { ${names} } = require('bulwark');\n(async () => {\n${ROUTER_APP}\n})();\n`,
        'index.mjs': `import express from 'express';\nimport { readFileSync } from 'node:fs';\nimport { ${names} } from 'bulwark';\n${ROUTER_APP}`,
      },
      'express@^4',
    );
    expect(JSON.parse(await run('node', ['index.cjs'], dir))).toEqual(ROUTER_EXPECTED);
    expect(JSON.parse(await run('node', ['index.mjs'], dir))).toEqual(ROUTER_EXPECTED);
  }, 120_000);

  it('type-checks and runs from TypeScript with nodenext resolution', async () => {
    const source = `import express from 'express';
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
    const dir = await project(
      'ts-app',
      { type: 'module' },
      {
        'index.ts': source,
        'tsconfig.json': JSON.stringify({
          compilerOptions: {
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2022',
            strict: true,
            outDir: 'out',
            types: [],
            skipLibCheck: false,
          },
          files: ['index.ts'],
        }),
      },
    );
    await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '@types/express@^5',
        '@types/node@^20',
      ],
      dir,
    );
    await run(join(root, 'node_modules/.bin/tsc'), ['-p', '.'], dir);
    expect(JSON.parse(await run('node', ['out/index.js'], dir))).toEqual(EXPECTED);
  }, 120_000);
});
