import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, codeBlocks, documentationFiles, type CodeBlock } from './markdown.js';

// Every TypeScript block a user can copy from README.md, examples/README.md and
// docs/*.md is compiled in a fresh project against the BUILT package (import
// 'bulwark' resolves through package.json "exports" to dist/, as after
// `npm install bulwark`), strict and with skipLibCheck off. Blocks marked
// ```ts runnable are also run with tsx and answer the requests listed in the
// `<!-- check: ... -->` comments right above them.
const run = promisify(execFile);

const TYPESCRIPT = new Set(['ts', 'typescript', 'mts']);
// Shell sessions, payloads and wire examples: nothing to compile.
const NOT_CODE = new Set([
  '',
  'text',
  'sh',
  'bash',
  'shell',
  'console',
  'json',
  'jsonc',
  'http',
  'dotenv',
  'ini',
  'yaml',
  'nginx',
  'promql',
]);

const blocks = documentationFiles().flatMap(codeBlocks);
// `ts signature` marks an API signature or a result's shape shown for reading
// (`hashPassword(password: string): Promise<string>`): not code to copy.
const samples = blocks.filter(
  (block) => TYPESCRIPT.has(block.language) && !block.flags.includes('signature'),
);
const runnable = samples.filter((block) => block.flags.includes('runnable'));

function sampleName(block: CodeBlock): string {
  return `${block.file.replace(/[^a-z0-9]+/gi, '_')}_L${String(block.line)}.ts`;
}

const FAKE_ENV = {
  NODE_ENV: 'development',
  ENVIRONMENT: 'development',
  JWT_SECRET_KEY: 'docs-FAKE-jwt-secret-key-0123456789abcdef',
  ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('hex'),
};

let project = '';
const diagnostics = new Map<string, string[]>();

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(
      newest,
      entry.isDirectory() ? await newestMtime(path) : (await stat(path)).mtimeMs,
    );
  }
  return newest;
}

/** Builds dist/ unless it is newer than every source file. */
async function ensureBuilt(): Promise<void> {
  const built = await stat(join(ROOT, 'dist/index.d.ts')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  if (built > (await newestMtime(join(ROOT, 'src')))) return;
  await run('npm', ['run', 'build'], { cwd: ROOT, maxBuffer: 16 << 20 });
}

// Redirects `listen(port)` to a free loopback port and reports it on stdout,
// so a sample can say `app.listen(3000)` as users write it.
const LISTEN_HOOK = `import net from 'node:net';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const callback = typeof args.at(-1) === 'function' ? args.at(-1) : undefined;
  this.once('listening', () => process.stdout.write('\\nsample listening on ' + this.address().port + '\\n'));
  return callback === undefined ? listen.call(this, 0, '127.0.0.1') : listen.call(this, 0, '127.0.0.1', callback);
};
`;

beforeAll(async () => {
  await ensureBuilt();
  project = await mkdtemp(join(tmpdir(), 'bulwark-docs-'));
  // A project of its own whose node_modules holds bulwark (the package root)
  // beside this repository's dependencies.
  await mkdir(join(project, 'node_modules'));
  for (const name of await readdir(join(ROOT, 'node_modules'))) {
    if (name === '.bin' || name.startsWith('.')) continue;
    await symlink(join(ROOT, 'node_modules', name), join(project, 'node_modules', name));
  }
  await symlink(ROOT, join(project, 'node_modules', 'bulwark'));
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'docs-samples', private: true, type: 'module' }),
  );
  await writeFile(join(project, 'listen-hook.mjs'), LISTEN_HOOK);
  for (const block of samples) {
    // `export {}` keeps each sample a module of its own, as its own file would be.
    await writeFile(join(project, sampleName(block)), `${block.code}\nexport {};\n`);
  }
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        skipLibCheck: false,
        types: ['node'],
        noEmit: true,
      },
      files: samples.map(sampleName),
    }),
  );
  // One program for every sample: a single tsc run.
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const output = await run(process.execPath, [tsc, '-p', '.', '--pretty', 'false'], {
    cwd: project,
    maxBuffer: 16 << 20,
  }).then(
    (result) => result.stdout,
    (error: unknown) =>
      (error as { stdout?: string }).stdout ??
      (error instanceof Error ? error.message : 'tsc failed'),
  );
  // `file.ts(line,col): error ...`, then indented lines that continue it.
  let current = '(project)';
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    const match = /^([^(\s]+)\((\d+),\d+\): (error .*)$/.exec(line);
    if (match !== null) current = match[1] ?? '(project)';
    else if (!line.startsWith(' ')) current = '(project)';
    const message = match === null ? line.trim() : `line ${match[2] ?? '?'}: ${match[3] ?? ''}`;
    diagnostics.set(current, [...(diagnostics.get(current) ?? []), message]);
  }
}, 180_000);

afterAll(async () => {
  if (project !== '') await rm(project, { recursive: true, force: true });
});

describe('code blocks in the documentation', () => {
  it('finds the samples', () => {
    expect(samples.length).toBeGreaterThan(30);
    expect(runnable.length).toBeGreaterThan(0);
  });

  it.each(
    blocks
      .filter((block) => !TYPESCRIPT.has(block.language))
      .map((b) => [`${b.file}:${String(b.line)}`, b] as const),
  )('%s is a known kind of block', (_where, block) => {
    expect(NOT_CODE.has(block.language), `unknown language "${block.language}"`).toBe(true);
  });

  it('the project compiles as a whole', () => {
    expect(diagnostics.get('(project)') ?? []).toEqual([]);
  });

  it.each(samples.map((b) => [`${b.file}:${String(b.line)}`, b] as const))(
    '%s type-checks',
    (_where, block) => {
      expect(diagnostics.get(sampleName(block)) ?? []).toEqual([]);
    },
  );
});

interface Check {
  method: string;
  path: string;
  body: string | undefined;
  status: number;
  code: string | undefined;
}

function parseChecks(block: CodeBlock): Check[] {
  return block.notes.flatMap((note) => {
    const match = /^check:\s*(\w+)\s+(\S+)\s*(\{.*\})?\s*->\s*(\d{3})(?:\s+(\S+))?$/.exec(note);
    if (match === null) return [];
    return [
      {
        method: match[1] ?? 'GET',
        path: match[2] ?? '/',
        body: match[3],
        status: Number(match[4]),
        code: match[5],
      },
    ];
  });
}

async function startSample(
  block: CodeBlock,
): Promise<{ port: number; stop: () => Promise<string> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', './listen-hook.mjs', sampleName(block)],
    {
      cwd: project,
      env: {
        PATH: process.env.PATH ?? '',
        SETTINGS_SECRETS_DIR: join(project, 'no-secrets'),
        ...FAKE_ENV,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((done) => {
    child.once('exit', () => {
      done();
    });
  });
  const port = await new Promise<number>((done, fail) => {
    const watch = setInterval(() => {
      const match = /sample listening on (\d+)/.exec(output);
      if (match !== null) {
        clearInterval(watch);
        done(Number(match[1]));
      }
    }, 20);
    void exited.then(() => {
      clearInterval(watch);
      fail(new Error(`the sample exited before listening:\n${output}`));
    });
  });
  return {
    port,
    stop: async () => {
      child.kill();
      await exited;
      return output;
    },
  };
}

describe.each(runnable.map((b) => [`${b.file}:${String(b.line)}`, b] as const))(
  'runnable sample %s',
  (_where, block) => {
    const checks = parseChecks(block);

    it('lists what to check', () => {
      expect(checks.length).toBeGreaterThan(0);
    });

    it('starts and answers as documented', async () => {
      const sample = await startSample(block);
      try {
        for (const check of checks) {
          const res = await fetch(`http://127.0.0.1:${String(sample.port)}${check.path}`, {
            method: check.method,
            ...(check.body === undefined
              ? {}
              : { body: check.body, headers: { 'content-type': 'application/json' } }),
          });
          const text = await res.text();
          expect({ request: `${check.method} ${check.path}`, status: res.status }).toEqual({
            request: `${check.method} ${check.path}`,
            status: check.status,
          });
          if (check.code !== undefined)
            expect((JSON.parse(text) as { code?: string }).code).toBe(check.code);
        }
      } finally {
        await sample.stop();
      }
    });
  },
);
