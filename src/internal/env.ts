/** The deployment environment, read from `ENVIRONMENT` with `NODE_ENV` as alias. */
export function currentEnvironment(env: NodeJS.ProcessEnv = process.env): string {
  const value = env.ENVIRONMENT ?? env.NODE_ENV ?? 'development';
  return value.trim().toLowerCase();
}

/** True for `production` and its common spelling `prod`, in any case and spacing. */
export function isProduction(environment: string = currentEnvironment()): boolean {
  const name = environment.trim().toLowerCase();
  return name === 'production' || name === 'prod';
}
