import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Installs the packed tarball into fresh CJS, ESM and TypeScript (nodenext)
// projects, so what users get is tested, not the source tree.
const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'bulwark-pack-'));
let tarball = '';

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function project(name: string, packageJson: object, files: Record<string, string>): string {
  const dir = join(work, name);
  run('mkdir', ['-p', dir], work);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, ...packageJson }));
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, 'express@^5'],
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

beforeAll(() => {
  run('npm', ['pack', '--pack-destination', work], root);
  const file = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (file === undefined) throw new Error('npm pack produced no tarball');
  tarball = join(work, file);
}, 120_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('contains only dist, README, LICENSE, CHANGELOG and package.json', () => {
    const listing = run('tar', ['-tzf', tarball], work).trim().split('\n');
    const outside = listing.filter(
      (path) => !/^package\/(dist\/.+|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/.test(path),
    );
    expect(outside).toEqual([]);
    expect(listing).toContain('package/dist/index.cjs');
    expect(listing).toContain('package/dist/index.d.ts');
  });

  it('works from CommonJS', () => {
    const dir = project(
      'cjs-app',
      {},
      {
        'index.js': `const express = require('express');\nconst { BulwarkError, errorHandler, requestId } = require('bulwark');\n${APP}`,
      },
    );
    expect(JSON.parse(run('node', ['index.js'], dir))).toEqual(EXPECTED);
  }, 120_000);

  it('works from ESM', () => {
    const dir = project(
      'esm-app',
      { type: 'module' },
      {
        'index.js': `import express from 'express';\nimport { BulwarkError, errorHandler, requestId } from 'bulwark';\n${APP}`,
      },
    );
    expect(JSON.parse(run('node', ['index.js'], dir))).toEqual(EXPECTED);
  }, 120_000);

  it('type-checks and runs from TypeScript with nodenext resolution', () => {
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
    const dir = project(
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
    run(
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
    run(join(root, 'node_modules/.bin/tsc'), ['-p', '.'], dir);
    expect(JSON.parse(run('node', ['out/index.js'], dir))).toEqual(EXPECTED);
  }, 120_000);
});
