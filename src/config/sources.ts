import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BulwarkConfigError } from '../errors.js';

/** Where a setting's value came from, highest precedence first. */
export type SettingSource = 'option' | 'env' | 'env_file' | 'secrets_dir' | 'default';

export interface SettingValue {
  value: string | undefined;
  source: SettingSource;
  /** The variable (or alias, or `NAME_FILE`) that supplied the value. */
  variable: string;
}

export interface SourceContext {
  env: NodeJS.ProcessEnv;
  /** Folder holding one file per secret; `undefined` when none is configured or present. */
  secretsDir: string | undefined;
}

const DEFAULT_SECRETS_DIR = '/run/secrets';
// A secrets file larger than this is a mistake (a key, not a database dump).
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** `SETTINGS_SECRETS_DIR`, else `/run/secrets` when that folder exists. */
export function secretsDirectory(env: NodeJS.ProcessEnv): string | undefined {
  const configured = env.SETTINGS_SECRETS_DIR;
  if (configured !== undefined && configured !== '') return configured;
  return existsSync(DEFAULT_SECRETS_DIR) ? DEFAULT_SECRETS_DIR : undefined;
}

function readSecretFile(path: string, variable: string): string {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    throw new BulwarkConfigError('loadConfig', [
      `${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    ]);
  }
  if (size > MAX_SECRET_FILE_BYTES) {
    throw new BulwarkConfigError('loadConfig', [
      `${variable}: ${path} is larger than ${String(MAX_SECRET_FILE_BYTES)} bytes`,
    ]);
  }
  try {
    // Editors and `echo` add a final newline; a secret never ends with one.
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new BulwarkConfigError('loadConfig', [
      `${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    ]);
  }
}

/**
 * Resolves one setting through every source, highest first: explicit option,
 * environment variable (then its aliases), `NAME_FILE` pointing at a file, a
 * file named `NAME` in the secrets folder, default. Empty strings count as unset.
 */
export function readSetting(
  name: string,
  aliases: readonly string[],
  context: SourceContext,
  option?: string,
): SettingValue {
  if (option !== undefined) return { value: option, source: 'option', variable: name };
  const names = [name, ...aliases];
  for (const variable of names) {
    const value = context.env[variable];
    if (value !== undefined && value !== '') return { value, source: 'env', variable };
  }
  for (const variable of names) {
    const file = context.env[`${variable}_FILE`];
    if (file !== undefined && file !== '') {
      return {
        value: readSecretFile(file, `${variable}_FILE`),
        source: 'env_file',
        variable: `${variable}_FILE`,
      };
    }
  }
  if (context.secretsDir !== undefined) {
    for (const variable of names) {
      const path = join(context.secretsDir, variable);
      if (existsSync(path)) {
        return { value: readSecretFile(path, variable), source: 'secrets_dir', variable };
      }
    }
  }
  return { value: undefined, source: 'default', variable: name };
}
