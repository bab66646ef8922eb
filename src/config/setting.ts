import { readSetting, secretsDirectory } from './sources.js';

export interface SettingFromEnvOptions {
  /** The environment to read. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Other names for the same setting, tried after `name`. */
  aliases?: readonly string[];
  /** Folder of one file per secret. @default SETTINGS_SECRETS_DIR, else /run/secrets when present */
  secretsDir?: string;
}

/**
 * Reads one setting of your own the way `loadConfig()` reads its own: the
 * variable (then its aliases), `NAME_FILE` naming a file, then a file called
 * `NAME` in the secrets folder. Empty values count as unset; a secrets file's
 * final newline is dropped. Throws `BulwarkConfigError` when a named file
 * cannot be read or is larger than 64 KiB.
 *
 * @example const adminPassword = settingFromEnv('ADMIN_PASSWORD');
 */
export function settingFromEnv(name: string, options?: SettingFromEnvOptions): string | undefined {
  const env = options?.env ?? process.env;
  return readSetting(name, options?.aliases ?? [], {
    env,
    secretsDir: options?.secretsDir ?? secretsDirectory(env),
  }).value;
}
