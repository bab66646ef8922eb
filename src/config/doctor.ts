import { parseArgs } from 'node:util';
import { BulwarkConfigError } from '../errors.js';
import { docsUrl } from '../internal/docs-url.js';
import { inspectConfig } from './load.js';
import { runMigrate } from './migrate.js';
import type { ReadinessStatus } from './types.js';

export interface CliIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
  /** Printed by `--version`. */
  version?: string;
}

/** Exit codes: 0 ready (warnings allowed), 1 a check failed, 2 the command line was wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const USAGE = `Usage: bulwark <command> [options]

Commands:
  doctor        Check the configuration in the environment for production readiness.
                Prints one line per check (pass / warn / fail); exits 1 if any check fails.
  migrate       Create or upgrade the PostgreSQL tables of postgresStore in the
                database at DATABASE_URL (idempotent; safe while replicas start).
  help          Show this help.

Options:
  --json        (doctor) Print the checklist as JSON.
  --schema NAME (migrate) Schema of the tables. Default: bulwark.
  -h, --help    Show this help.
  -v, --version Print the version of bulwark.

Settings are read like loadConfig() reads them: environment variables,
NAME_FILE files and the secrets folder (SETTINGS_SECRETS_DIR or /run/secrets).
See ${docsUrl('config.md')}
`;

interface Line {
  id: string;
  status: ReadinessStatus;
  message: string;
}

const LABELS: Record<ReadinessStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };
const COLOURS: Record<ReadinessStatus, number> = { pass: 32, warn: 33, fail: 31 };

function useColour(io: CliIo): boolean {
  const noColor = io.env.NO_COLOR;
  return io.stdout.isTTY === true && (noColor === undefined || noColor === '');
}

function doctor(json: boolean, io: CliIo): number {
  const { config, problems, checks } = inspectConfig({ env: io.env, cwd: io.cwd });
  const lines: Line[] = [
    ...problems.map((message): Line => ({ id: 'config.invalid', status: 'fail', message })),
    ...config.warnings
      .filter((warning) => !checks.some((c) => c.message === warning))
      .map((message): Line => ({ id: 'environment', status: 'warn', message })),
    ...checks.map(({ id, status, message }): Line => ({ id, status, message })),
  ];
  const count = (status: ReadinessStatus) => lines.filter((l) => l.status === status).length;
  const summary = { pass: count('pass'), warn: count('warn'), fail: count('fail') };
  const code = summary.fail > 0 ? EXIT.failed : EXIT.ok;

  if (json) {
    const report = {
      environment: config.environment,
      production: config.production,
      ok: code === EXIT.ok,
      summary,
      problems,
      checks: lines,
    };
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return code;
  }

  const colour = useColour(io);
  const paint = (status: ReadinessStatus, text: string) =>
    colour ? `\u001b[${String(COLOURS[status])}m${text}\u001b[0m` : text;
  const width = Math.max(...lines.map((l) => l.id.length));
  const out: string[] = [
    `bulwark doctor: production readiness (environment: ${config.environment})`,
    '',
    ...lines.map(
      (l) => `  ${paint(l.status, LABELS[l.status])}  ${l.id.padEnd(width)}  ${l.message}`,
    ),
    '',
    `${String(summary.fail)} failed, ${String(summary.warn)} warning(s), ${String(summary.pass)} passed`,
  ];
  if (!config.production) {
    out.push(
      `ENVIRONMENT is ${config.environment}: loadConfig() enforces these checks only in production.`,
    );
  }
  io.stdout.write(`${out.join('\n')}\n`);
  return code;
}

/**
 * Runs the `bulwark` command line; returns the exit code instead of exiting,
 * so it can be tested. `migrate` talks to a database, so it answers with a promise.
 */
export function runCli(argv: readonly string[], io: CliIo): number | Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        json: { type: 'boolean' },
        schema: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Node's wording explains positional escaping; the option name is what matters here.
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    const shown = unknown === undefined ? message : `unknown option "${unknown}"`;
    io.stderr.write(`bulwark: ${shown}\nRun "bulwark --help" for usage.\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;

  if (values.help === true || command === 'help') {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (values.version === true) {
    io.stdout.write(`${io.version ?? 'unknown'}\n`);
    return EXIT.ok;
  }
  if (command === undefined) {
    io.stderr.write(`bulwark: no command given\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (command === 'migrate' && rest.length === 0 && values.json === undefined) {
    return runMigrate(values.schema, io);
  }
  if (command !== 'doctor' && command !== 'migrate') {
    io.stderr.write(`bulwark: unknown command "${command}"\nRun "bulwark --help" for usage.\n`);
    return EXIT.usage;
  }
  if (rest.length > 0) {
    io.stderr.write(
      `bulwark ${command}: unexpected argument "${rest.join(' ')}"\nRun "bulwark --help" for usage.\n`,
    );
    return EXIT.usage;
  }
  const foreign = command === 'migrate' ? '--json' : values.schema === undefined ? '' : '--schema';
  if (foreign !== '') {
    io.stderr.write(
      `bulwark ${command}: option ${foreign} does not apply\nRun "bulwark --help" for usage.\n`,
    );
    return EXIT.usage;
  }

  try {
    return doctor(values.json === true, io);
  } catch (error) {
    // Only a broken invocation gets here (settings problems are part of the report);
    // print the problems, never a stack trace.
    const problems =
      error instanceof BulwarkConfigError
        ? error.problems
        : [error instanceof Error ? error.message : String(error)];
    io.stderr.write(`bulwark doctor: cannot check the configuration:\n`);
    for (const problem of problems) io.stderr.write(`  - ${problem}\n`);
    return EXIT.failed;
  }
}
