// What a request leaves in V8's old generation, by object type, on POST
// /v1/echo. On a plain server Express's per-request `Object.setPrototypeOf`
// gives `req` and `res` hidden classes of their own, from which V8 makes no
// shared transitions: each property a layer adds to one of them then builds a
// new hidden class (a map) and a copy of the object's whole property list (a
// descriptor array), both in the old generation, which only a full collection
// frees (bench/README.md). This counts them.
//
// Each server runs with V8's --trace-gc-object-stats, which prints at every
// full collection the objects it found dead, and with the heap flags the
// instruction bench uses (GC_FLAGS). After a warm-up, BENCH_REQUESTS requests
// go over one keep-alive connection; the server prints how many requests it
// had served at each full collection, and the dead objects of each collection
// after the warm-up are charged to the requests served since the one before.
// Descriptor arrays and maps repeat exactly from one process to the next; the
// rest (arrays, strings, closures that lived through two scavenges before
// dying) follows the collector's state, which differs between processes of
// the same app (gc-flags.ts), by several times.
//
//   npm run bench:old-space              bare Express, the hand stack, bulwark, each also with serverClasses()
//   BENCH_ONLY=bulwark,hand              other configurations (bench/configurations.ts)
//   BENCH_REQUESTS=30000                 requests after the warm-up
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type KeyedConfiguration,
  requestPathConfigurations,
  selectConfigurations,
} from './configurations.js';
import { echoHeaders, sendEcho } from './echo-requests.js';
import { GC_FLAGS } from './gc-flags.js';

const WARMUP = 10_000;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 30_000);
const TYPES = 6;

const headers = await echoHeaders();

/** One line of --trace-gc-object-stats output, as far as this reads it. */
interface ObjectStats {
  readonly key: string;
  readonly type: string;
  readonly instance_type_name?: string;
  readonly count?: number;
  readonly overall?: number;
}

interface Dead {
  count: number;
  bytes: number;
}

function addDead(byType: Map<string, Dead>, name: string, dead: Dead): void {
  const total = byType.get(name) ?? { count: 0, bytes: 0 };
  total.count += dead.count;
  total.bytes += dead.bytes;
  byType.set(name, total);
}

/** Per request: dead bytes and objects by type over the full collections after `from` requests. */
function deadPerRequest(
  lines: readonly string[],
  from: number,
): { requests: number; byType: Map<string, Dead> } | undefined {
  let pending = new Map<string, Dead>();
  let previous: number | undefined;
  let requests = 0;
  const byType = new Map<string, Dead>();
  for (const line of lines) {
    if (line.startsWith('{')) {
      const stats = JSON.parse(line) as ObjectStats;
      if (stats.key !== 'dead' || stats.type !== 'instance_type_data' || !stats.count) continue;
      addDead(pending, stats.instance_type_name ?? '?', {
        count: stats.count,
        bytes: stats.overall ?? 0,
      });
      continue;
    }
    const match = /^major-gc (\d+)$/.exec(line);
    if (match === null) continue;
    const served = Number(match[1]);
    if (previous !== undefined && previous >= from) {
      requests += served - previous;
      for (const [name, dead] of pending) addDead(byType, name, dead);
    }
    previous = served;
    pending = new Map();
  }
  if (requests === 0) return undefined;
  for (const dead of byType.values()) {
    dead.count /= requests;
    dead.bytes /= requests;
  }
  return { requests, byType };
}

/**
 * Runs the configuration's server with its standard output in a file, sends the
 * requests and returns what the server printed. Not through the harness's pipe:
 * V8 prints the statistics with C's stdio, which loses data when a pipe is full
 * (Node makes it non-blocking), and buffers in blocks, which `stdbuf -oL` turns
 * into lines so they stay in order with the server's own.
 */
async function serverOutput(configuration: KeyedConfiguration): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-old-space-'));
  const file = join(dir, 'stdout');
  const out = await open(file, 'w');
  try {
    const args = ['bench/serve.ts', configuration.app, configuration.export ?? 'createApp'];
    const child = spawn(
      'stdbuf',
      ['-oL', process.execPath, '--trace-gc-object-stats', ...GC_FLAGS, '--import', 'tsx', ...args],
      {
        stdio: ['pipe', out.fd, 'inherit'],
        env: { ...process.env, NODE_ENV: 'production', ...configuration.env, BENCH_MAJOR_GC: '1' },
      },
    );
    const { stdin } = child;
    if (stdin === null) throw new Error('no stdin pipe to the server');
    const exited = once(child, 'exit');
    let port: number | undefined;
    while (port === undefined) {
      if (child.exitCode !== null) throw new Error(`${configuration.name} exited before listening`);
      await sleep(100);
      port = Number(/^listening (\d+)$/m.exec(await readFile(file, 'utf8'))?.[1]) || undefined;
    }
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await sendEcho(agent, port, WARMUP, headers);
      await sendEcho(agent, port, REQUESTS, headers);
    } finally {
      agent.destroy();
      stdin.end();
      await exited;
    }
    return (await readFile(file, 'utf8')).split('\n');
  } finally {
    await out.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const sum = (byType: Map<string, Dead>, names: readonly string[]): Dead =>
  names.reduce(
    (total, name) => {
      const dead = byType.get(name);
      return dead === undefined
        ? total
        : { count: total.count + dead.count, bytes: total.bytes + dead.bytes };
    },
    { count: 0, bytes: 0 },
  );

console.log(
  '| configuration | dead old-space bytes / request | descriptor arrays | maps | IC handlers | full collections counted |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
const details: string[] = [];
for (const configuration of selectConfigurations(requestPathConfigurations(), [
  'bare',
  'hand',
  'bulwark',
  'bare+classes',
  'hand+classes',
  'bulwark+classes',
])) {
  const lines = await serverOutput(configuration);
  const collections = lines.filter((line) => line.startsWith('major-gc ')).length;
  const result = deadPerRequest(lines, WARMUP);
  if (result === undefined) {
    console.log(
      `| ${configuration.name} | fewer than 2 full collections in ${String(REQUESTS)} requests | | | | ${String(collections)} |`,
    );
    continue;
  }
  const { requests, byType } = result;
  const all = [...byType.values()].reduce((total, dead) => total + dead.bytes, 0);
  const descriptors = sum(byType, ['DESCRIPTOR_ARRAY_TYPE']);
  const maps = sum(byType, ['MAP_TYPE', 'MAP_STABLE_TYPE', 'MAP_DICTIONARY_TYPE']);
  const handlers = sum(byType, ['LOAD_HANDLER_TYPE', 'STORE_HANDLER_TYPE']);
  const cell = (dead: Dead): string =>
    `${dead.count.toFixed(1)} (${Math.round(dead.bytes).toLocaleString('en')} B)`;
  console.log(
    `| ${configuration.name} | ${Math.round(all).toLocaleString('en')} | ${cell(descriptors)} | ${cell(maps)} | ${cell(handlers)} | ${String(collections)}, over ${String(requests)} requests |`,
  );
  details.push(
    `${configuration.name}, the ${String(TYPES)} largest types per request:`,
    ...[...byType]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, TYPES)
      .map(
        ([name, dead]) =>
          `  ${name.padEnd(36)} ${dead.count.toFixed(2).padStart(8)} objects ${Math.round(dead.bytes).toLocaleString('en').padStart(8)} B`,
      ),
  );
}
console.log(`\n${details.join('\n')}`);
