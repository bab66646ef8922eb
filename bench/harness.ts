import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** One configuration under test: a module under bench/apps exporting an app factory. */
export interface Configuration {
  readonly name: string;
  readonly app: string;
  /** The factory's export name. @default 'createApp' */
  readonly export?: string;
  /** Extra environment for the server process. */
  readonly env?: Readonly<Record<string, string>>;
}

/** How a server process is started, beyond its configuration. */
export interface Launch {
  /** A command the node process runs under, e.g. `['valgrind', '--tool=callgrind']`. */
  readonly wrap?: readonly string[];
  /** Extra flags for node itself. */
  readonly nodeArgs?: readonly string[];
}

export interface Load {
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface Measurement {
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** The server process's own CPU time (user + system) per request, in µs. */
  readonly cpuPerRequest: number;
  readonly non2xx: number;
}

export interface Summary extends Measurement {
  readonly name: string;
  /** Median req/s against the first configuration's. */
  readonly ratio: number;
  /** The first configuration's CPU per request over this one's: the throughput ratio its cost predicts. */
  readonly cpuRatio: number;
}

const serve = fileURLToPath(new URL('./serve.ts', import.meta.url));
const autocannon = fileURLToPath(new URL('../node_modules/.bin/autocannon', import.meta.url));

/** A server process, and its answers to `cpu` and `gc` queries in order. */
class Server {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: ((line: string) => void)[] = [];

  readonly pid: number;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    this.pid = child.pid ?? 0;
    child.stderr.pipe(process.stderr);
    // Only the harness's own protocol lines; anything else an app prints is passed through.
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (/^(listening|cpu|gc) /.test(line)) this.#waiting.shift()?.(line);
      else process.stdout.write(`${line}\n`);
    });
  }

  static async start(
    configuration: Configuration,
    launch: Launch = {},
  ): Promise<{ server: Server; port: number }> {
    const args = ['--import', 'tsx', serve, configuration.app];
    if (configuration.export !== undefined) args.push(configuration.export);
    // BENCH_NODE_ARGS reaches every server, e.g. `--cpu-prof` to profile them under load.
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const command = [
      ...(launch.wrap ?? []),
      process.execPath,
      ...(launch.nodeArgs ?? []),
      ...nodeArgs,
      ...args,
    ];
    const child = spawn(command[0]!, command.slice(1), {
      env: { ...process.env, NODE_ENV: 'production', ...configuration.env },
    });
    const server = new Server(child);
    const exited = once(child, 'exit').then(() => {
      throw new Error(`bench server ${configuration.name} exited before listening`);
    });
    const line = await Promise.race([server.#next(), exited]);
    const match = /^listening (\d+)$/.exec(line);
    if (match === null) throw new Error(`bench server ${configuration.name} said ${line}`);
    return { server, port: Number(match[1]) };
  }

  #next(): Promise<string> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Writes one protocol line to the server and resolves with its answer line. */
  #ask(query: 'cpu' | 'gc'): Promise<string> {
    const answer = this.#next();
    this.#child.stdin.write(`${query}\n`);
    return answer;
  }

  async cpu(): Promise<number> {
    return Number((await this.#ask('cpu')).slice(4));
  }

  /** A full garbage collection in the server; the server must run with `--expose-gc`. */
  async collect(): Promise<void> {
    const line = await this.#ask('gc');
    if (line !== 'gc done') throw new Error(`bench server could not collect: ${line}`);
  }

  async stop(): Promise<void> {
    const exited = once(this.#child, 'exit');
    this.#child.stdin.end();
    await exited;
  }
}

interface Autocannon {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}

/** Runs autocannon in its own process for `-d seconds` or `-a requests`. */
async function autocannonRun(
  port: number,
  load: Load,
  connections: number,
  extent: readonly string[],
): Promise<Autocannon> {
  const args = ['-j', '-c', String(connections), ...extent, '-m', load.method ?? 'GET'];
  for (const [k, v] of Object.entries(load.headers ?? {})) args.push('-H', `${k}=${v}`);
  if (load.body !== undefined) args.push('-b', load.body);
  args.push(`http://127.0.0.1:${String(port)}${load.path}`);
  const child = spawn(autocannon, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await once(child, 'exit');
  const result = JSON.parse(out) as Autocannon;
  if (result.errors > 0) {
    throw new Error(`${String(result.errors)} connection errors on port ${String(port)}`);
  }
  return result;
}

async function runLoad(
  server: Server,
  port: number,
  load: Load,
  seconds: number,
  connections: number,
): Promise<Measurement> {
  const before = await server.cpu();
  const result = await autocannonRun(port, load, connections, ['-d', String(seconds)]);
  const after = await server.cpu();
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuPerRequest: (after - before) / Math.max(1, result.requests.total),
    non2xx: result.non2xx,
  };
}

/** Starts one configuration's server on its own, for measurements other than `compare`. */
export async function startServer(
  configuration: Configuration,
  launch?: Launch,
): Promise<{
  port: number;
  pid: number;
  collect: () => Promise<void>;
  stop: () => Promise<void>;
}> {
  const { server, port } = await Server.start(configuration, launch);
  return { port, pid: server.pid, collect: () => server.collect(), stop: () => server.stop() };
}

/** Sends exactly `requests` requests; throws unless every answer is 2xx. */
export async function send(
  port: number,
  load: Load,
  requests: number,
  connections = 10,
): Promise<void> {
  const result = await autocannonRun(port, load, connections, ['-a', String(requests)]);
  if (result.non2xx > 0) throw new Error(`${String(result.non2xx)} non-2xx answers`);
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Measures every configuration in one run: all servers stay up, rounds visit
 * them in rotating order so drift (thermal, other load) spreads evenly, and
 * the medians are compared as ratios against the first configuration. A
 * configuration that answers anything but 2xx during the warm-up is an error:
 * the bench would be timing its rejection path.
 */
export async function compare(options: {
  configurations: readonly Configuration[];
  load: Load;
  rounds?: number;
  seconds?: number;
  connections?: number;
}): Promise<Summary[]> {
  const { configurations, load, rounds = 5, seconds = 4, connections = 20 } = options;
  // Every server pipes its stderr into ours: one listener set each, all up at once.
  process.stderr.setMaxListeners(configurations.length + 10);
  const servers = await Promise.all(configurations.map((c) => Server.start(c)));
  const samples = configurations.map((): Measurement[] => []);
  try {
    for (const [i, { server, port }] of servers.entries()) {
      const warm = await runLoad(server, port, load, 2, connections);
      if (warm.non2xx > 0) {
        throw new Error(
          `${configurations[i]!.name} answered ${String(warm.non2xx)} non-2xx during warm-up`,
        );
      }
    }
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < configurations.length; k++) {
        const i = (round + k) % configurations.length;
        const { server, port } = servers[i]!;
        samples[i]!.push(await runLoad(server, port, load, seconds, connections));
        process.stderr.write('.');
      }
    }
  } finally {
    await Promise.all(servers.map(({ server }) => server.stop()));
    process.stderr.write('\n');
  }
  const summaries = configurations.map((c, i) => ({
    name: c.name,
    requestsPerSecond: median(samples[i]!.map((s) => s.requestsPerSecond)),
    p50: median(samples[i]!.map((s) => s.p50)),
    p99: median(samples[i]!.map((s) => s.p99)),
    cpuPerRequest: median(samples[i]!.map((s) => s.cpuPerRequest)),
    non2xx: samples[i]!.reduce((sum, s) => sum + s.non2xx, 0),
  }));
  const base = summaries[0]!;
  return summaries.map((s) => ({
    ...s,
    ratio: s.requestsPerSecond / base.requestsPerSecond,
    cpuRatio: base.cpuPerRequest / s.cpuPerRequest,
  }));
}

export function table(summaries: readonly Summary[]): string {
  const rows = summaries.map(
    (s) =>
      `| ${s.name} | ${Math.round(s.requestsPerSecond).toLocaleString('en')} | ${String(s.p50)} | ${String(s.p99)} | ${s.ratio.toFixed(2)}x | ${s.cpuPerRequest.toFixed(0)} | ${s.cpuRatio.toFixed(2)}x | ${String(s.non2xx)} |`,
  );
  return [
    '| configuration | req/s (median) | p50 ms | p99 ms | req/s vs first | server CPU µs/req | vs first by CPU | non-2xx |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

/** One line naming the conditions of a run, for the top of its output. */
export function conditions(run: { rounds: number; seconds: number; connections: number }): string {
  const [one, five] = loadavg();
  return (
    `Node ${process.version}, ${String(cpus().length)} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}); ` +
    `${String(run.rounds)} rounds x ${String(run.seconds)} s per configuration, ${String(run.connections)} connections; ` +
    `load average at start ${one!.toFixed(2)} (1 min), ${five!.toFixed(2)} (5 min)`
  );
}

/** `name version` of each installed package, as the bench ran them. */
export function versions(names: readonly string[]): string {
  return names
    .map((name) => {
      const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
      return `${name} ${(JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version}`;
    })
    .join(', ');
}
