import { BulwarkConfigError } from '../errors.js';
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

/** The HMAC secrets of a token service, as `createTokenService()` takes them. */
export interface JwtSecrets {
  readonly secret: string;
  readonly previousSecrets: readonly string[];
}

/**
 * Reads `JWT_SECRET_KEY` (alias `SECRET_KEY`) and `JWT_PREVIOUS_SECRET_KEYS`
 * the way `loadConfig()` does, for an app that makes a token service without
 * `loadConfig()`. `createTokenService()` itself reads no environment, so
 * where its secret comes from shows in the code that calls it. Throws
 * `BulwarkConfigError` when `JWT_SECRET_KEY` is not set; the service checks
 * the secret's length when it is created.
 *
 * @example
 * const tokens = createTokenService({ ...jwtSecretsFromEnv(), issuer, audience, store });
 */
export function jwtSecretsFromEnv(options?: Omit<SettingFromEnvOptions, 'aliases'>): JwtSecrets {
  const env = options?.env ?? process.env;
  const context = { env, secretsDir: options?.secretsDir ?? secretsDirectory(env) };
  const secret = readSetting('JWT_SECRET_KEY', ['SECRET_KEY'], context).value;
  if (secret === undefined) {
    throw new BulwarkConfigError('jwtSecretsFromEnv', [
      'JWT_SECRET_KEY is not set (nor SECRET_KEY, their _FILE forms or the secrets folder)',
    ]);
  }
  const previous = readSetting('JWT_PREVIOUS_SECRET_KEYS', [], context).value ?? '';
  return {
    secret,
    previousSecrets: previous
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  };
}
