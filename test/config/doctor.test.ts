import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/config/doctor.js';
import { FAKE_JWT_KEY, FAKE_METRICS_PASSWORD, READY_ENV, fakeHexKey, tempDir } from './helpers.js';

const CLI = fileURLToPath(new URL('../../src/config/cli.ts', import.meta.url));
// An absolute loader URL lets the CLI run from a temporary working folder.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const ANSI = '\u001b[';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bulwark` from source in a clean environment and an empty working
 * folder; asynchronously, so the test worker is not blocked meanwhile.
 */
function bulwark(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, CLI, ...args],
      {
        cwd: tempDir(),
        env: { PATH: process.env.PATH, SETTINGS_SECRETS_DIR: tempDir(), ...env },
        encoding: 'utf8',
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        resolve({ status: typeof code === 'number' ? code : error ? null : 0, stdout, stderr });
      },
    );
  });
}

const SECRETS = [FAKE_JWT_KEY, fakeHexKey('current'), FAKE_METRICS_PASSWORD];
const READY = {
  ...READY_ENV,
  METRICS_USERNAME: 'metrics',
  METRICS_PASSWORD: FAKE_METRICS_PASSWORD,
};

function expectNoSecrets(run: Run): void {
  for (const secret of SECRETS) {
    expect(run.stdout).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
  }
}

describe('bulwark doctor', () => {
  it('prints a passing checklist and exits 0 for a production-ready environment', async () => {
    const run = await bulwark(['doctor'], READY);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe('bulwark doctor: production readiness (environment: production)');
    expect(lines.filter((l) => l.startsWith('  PASS  '))).toHaveLength(15);
    expect(run.stdout).toMatch(/^ {2}PASS {2}jwt\.secret_key +JWT_SECRET_KEY is set and strong$/m);
    expect(run.stdout).toContain('\n0 failed, 0 warning(s), 15 passed\n');
    expect(run.stdout).not.toContain(ANSI);
    expectNoSecrets(run);
  });

  it('prints failures and warnings and exits 1', async () => {
    const run = await bulwark(['doctor'], {
      ...READY,
      JWT_SECRET_KEY: 'changeme',
      TRUSTED_HOSTS: '',
      HTTPS_REDIRECT_ENABLED: 'false',
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(
      /^ {2}FAIL {2}jwt\.secret_key +JWT_SECRET_KEY is a placeholder value$/m,
    );
    expect(run.stdout).toMatch(/^ {2}FAIL {2}trusted_hosts +TRUSTED_HOSTS is empty/m);
    expect(run.stdout).toMatch(/^ {2}WARN {2}https_redirect +HTTPS_REDIRECT_ENABLED is off/m);
    expect(run.stdout).toContain('\n2 failed, 1 warning(s), 12 passed\n');
    expect(run.stdout).not.toContain('changeme');
    expectNoSecrets(run);
  });

  it('judges a development environment as production and says so', async () => {
    const run = await bulwark(['doctor'], { ...READY, ENVIRONMENT: 'development' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('(environment: development)');
    expect(run.stdout).toContain(
      'ENVIRONMENT is development: loadConfig() enforces these checks only in production.',
    );
  });

  it('exits 1 with nothing set at all', async () => {
    const run = await bulwark(['doctor']);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('FAIL  jwt.secret_key');
  });

  it('prints parseable JSON with --json', async () => {
    const run = await bulwark(['doctor', '--json'], { ...READY, LOG_LEVEL: 'debug' });
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({
      environment: 'production',
      production: true,
      ok: false,
      summary: { pass: 14, warn: 0, fail: 1 },
      problems: [],
    });
    expect(report.checks).toHaveLength(15);
    expect(report.checks).toContainEqual({
      id: 'log_level',
      status: 'fail',
      message: 'LOG_LEVEL is debug: verbose logs leak request data; use info or higher',
    });
    expectNoSecrets(run);
  });

  it('reports an ok JSON report with exit 0 (flag before the command)', async () => {
    const run = await bulwark(['--json', 'doctor'], READY);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, summary: { fail: 0 } });
  });

  it('lists malformed and unreadable settings as failures, without a stack trace', async () => {
    const run = await bulwark(['doctor'], {
      ...READY,
      RATE_LIMIT_REQUESTS_PER_MINUTE: 'abc',
      ENCRYPTION_KEY: 'FAKEnotHEX',
      METRICS_PASSWORD_FILE: join(tempDir(), 'missing'),
      METRICS_PASSWORD: '',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(
      /^ {2}FAIL {2}config\.invalid +RATE_LIMIT_REQUESTS_PER_MINUTE must be a whole number from 1 to 1000000000, got "abc"$/m,
    );
    expect(run.stdout).toMatch(
      /^ {2}FAIL {2}config\.invalid +ENCRYPTION_KEY must be 64 hexadecimal characters \(32 bytes\)$/m,
    );
    expect(run.stdout).toMatch(
      /^ {2}FAIL {2}config\.invalid +METRICS_PASSWORD_FILE: cannot read .*missing \(ENOENT\)$/m,
    );
    expect(run.stdout).not.toContain('FAKEnotHEX');
    expect(run.stdout).not.toMatch(/^\s+at /m);
    expectNoSecrets(run);
  });

  it('lists malformed settings in the JSON report', async () => {
    const run = await bulwark(['doctor', '--json'], { ...READY, MAX_BODY_BYTES: '1mb' });
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.problems).toEqual([
      'MAX_BODY_BYTES must be a whole number from 1 to 1073741824, got "1mb"',
    ]);
    expect(report.checks[0]).toEqual({
      id: 'config.invalid',
      status: 'fail',
      message: 'MAX_BODY_BYTES must be a whole number from 1 to 1073741824, got "1mb"',
    });
  });

  it.each([['--help'], ['-h'], ['help'], ['doctor', '--help']])(
    '%s prints usage and exits 0',
    async (...args) => {
      const run = await bulwark(args);
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/^Usage: bulwark <command> \[options\]/);
      expect(run.stdout).toContain('doctor');
      expect(run.stdout).toContain('--json');
    },
  );

  it.each([['--version'], ['-v']])('%s prints the package version and exits 0', async (flag) => {
    const { version } = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    const run = await bulwark([flag]);
    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
      status: 0,
      stdout: `${version}\n`,
      stderr: '',
    });
  });

  it.each([
    [['doctor', '--bogus'], /^bulwark: unknown option "--bogus"$/],
    // Node words this one itself; only the option name is ours to promise.
    [['doctor', '--json=yes'], /^bulwark: .*'--json'/],
    [['docter'], /^bulwark: unknown command "docter"$/],
    [['doctor', 'now'], /^bulwark doctor: unexpected argument "now"$/],
    [[], /^bulwark: no command given$/],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const run = await bulwark(args);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')[0]).toMatch(message);
    // Either the short hint or, with no command at all, the whole usage text.
    expect(run.stderr).toMatch(/Run "bulwark --help" for usage\.|Usage: bulwark/);
  });
});

describe('doctor colours', () => {
  function capture(env: NodeJS.ProcessEnv, isTTY: boolean): string {
    let out = '';
    runCli(['doctor'], {
      env: { SETTINGS_SECRETS_DIR: tempDir(), ...READY, ...env },
      cwd: tempDir(),
      stdout: {
        isTTY,
        write: (text: string) => {
          out += text;
        },
      },
      stderr: { write: () => undefined },
    });
    return out;
  }

  it('colours status labels on a terminal', () => {
    const out = capture({ LOG_LEVEL: 'debug', HTTPS_REDIRECT_ENABLED: 'no' }, true);
    expect(out).toContain(`${ANSI}32mPASS${ANSI}0m  jwt.secret_key`);
    expect(out).toContain(`${ANSI}33mWARN${ANSI}0m  https_redirect`);
    expect(out).toContain(`${ANSI}31mFAIL${ANSI}0m  log_level`);
  });

  it.each([
    ['a pipe', {}, false],
    ['NO_COLOR', { NO_COLOR: '1' }, true],
  ])('leaves colour out for %s', (_label, env, isTTY) => {
    const out = capture(env, isTTY);
    expect(out).toContain('PASS');
    expect(out).not.toContain(ANSI);
  });
});
