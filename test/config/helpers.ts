import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { loadConfig, type BulwarkConfig, type LoadConfigOptions } from '../../src/index.js';

const made: string[] = [];

/** A fresh temporary folder, removed after the file's tests. */
export function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-config-'));
  made.push(dir);
  for (const [name, content] of Object.entries(files)) {
    if (name.endsWith('/')) mkdirSync(join(dir, name));
    else writeFileSync(join(dir, name), content, { mode: 0o600 });
  }
  return dir;
}

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A 64-hex key derived from a label, so tests never carry a real-looking key. */
export function fakeHexKey(label: string): string {
  return createHash('sha256').update(`FAKE test key ${label}`).digest('hex');
}

/**
 * A secret that passes the production strength rules, derived from a label and
 * marked FAKE: hand-typed fixtures such as `FAKE-test-jwt-key-0123456789` are
 * words and sequences, which production now refuses.
 */
export function fakeSecret(label: string): string {
  return `FAKE-${createHash('sha256').update(`FAKE test secret ${label}`).digest('base64url')}`;
}

export const FAKE_JWT_KEY = fakeSecret('jwt');
export const FAKE_METRICS_PASSWORD = fakeSecret('metrics');

/** Everything production asks for, all obviously fake. */
export const READY_ENV: NodeJS.ProcessEnv = {
  ENVIRONMENT: 'production',
  JWT_SECRET_KEY: FAKE_JWT_KEY,
  RATE_LIMIT_STORAGE_URI: 'redis://127.0.0.1:6379',
  CORS_ALLOWED_ORIGINS: 'https://app.example.com',
  TRUSTED_HOSTS: 'api.example.com',
  ENCRYPTION_KEY: fakeHexKey('current'),
};

/** loadConfig isolated from the machine: only `env`, no secrets folder, an empty cwd. */
export function load(env: NodeJS.ProcessEnv, options: LoadConfigOptions = {}): BulwarkConfig {
  return loadConfig({ env, secretsDir: false, cwd: tempDir(), ...options });
}

/** The `BulwarkConfigError` problems thrown by `fn`, or a failure if it does not throw. */
export function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof Error && error.name === 'BulwarkConfigError') {
      return (error as Error & { problems: readonly string[] }).problems;
    }
    throw error;
  }
  throw new Error('expected a BulwarkConfigError');
}
