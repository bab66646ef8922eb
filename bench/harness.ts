import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** One configuration under test: a module under bench/apps exporting `createApp()`. */
export interface Configuration {
  readonly name: string;
  readonly app: string;
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
  readonly non2xx: number;
}

export interface Summary extends Measurement {
  readonly name: string;
  readonly ratio: number;
}

const serve = fileURLToPath(new URL('./serve.ts', import.meta.url));
const autocannon = fileURLToPath(new URL('../node_modules/.bin/autocannon', import.meta.url));

async function startServer(app: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', serve, app], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const match = /^listening (\d+)$/.exec(line);
    if (match) return { child, port: Number(match[1]) };
  }
  throw new Error(`bench server ${app} exited before listening`);
}

async function runLoad(port: number, load: Load, seconds: number, connections: number) {
  const args = ['-j', '-c', String(connections), '-d', String(seconds), '-m', load.method ?? 'GET'];
  for (const [k, v] of Object.entries(load.headers ?? {})) args.push('-H', `${k}=${v}`);
  if (load.body !== undefined) args.push('-b', load.body);
  args.push(`http://127.0.0.1:${String(port)}${load.path}`);
  const child = spawn(autocannon, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await once(child, 'exit');
  const result = JSON.parse(out) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
  };
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Measures every configuration in one run: all servers stay up, rounds visit
 * them in rotating order so drift (thermal, other load) spreads evenly, and
 * the medians are compared as ratios against the first configuration.
 */
export async function compare(options: {
  configurations: readonly Configuration[];
  load: Load;
  rounds?: number;
  seconds?: number;
  connections?: number;
}): Promise<Summary[]> {
  const { configurations, load, rounds = 5, seconds = 4, connections = 20 } = options;
  const servers = await Promise.all(configurations.map((c) => startServer(c.app)));
  const samples = configurations.map((): Measurement[] => []);
  try {
    for (const server of servers) await runLoad(server.port, load, 1, connections);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < configurations.length; k++) {
        const i = (round + k) % configurations.length;
        samples[i]!.push(await runLoad(servers[i]!.port, load, seconds, connections));
        process.stderr.write('.');
      }
    }
  } finally {
    for (const { child } of servers) child.kill();
    process.stderr.write('\n');
  }
  const summaries = configurations.map((c, i) => ({
    name: c.name,
    requestsPerSecond: median(samples[i]!.map((s) => s.requestsPerSecond)),
    p50: median(samples[i]!.map((s) => s.p50)),
    p99: median(samples[i]!.map((s) => s.p99)),
    non2xx: samples[i]!.reduce((sum, s) => sum + s.non2xx, 0),
  }));
  const base = summaries[0]!.requestsPerSecond;
  return summaries.map((s) => ({ ...s, ratio: s.requestsPerSecond / base }));
}

export function table(summaries: readonly Summary[]): string {
  const rows = summaries.map(
    (s) =>
      `| ${s.name} | ${Math.round(s.requestsPerSecond).toLocaleString('en')} | ${String(s.p50)} | ${String(s.p99)} | ${s.ratio.toFixed(2)}x | ${String(s.non2xx)} |`,
  );
  return [
    '| configuration | req/s (median) | p50 ms | p99 ms | vs first | non-2xx |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}
