// Instructions per request on POST /v1/echo (JSON body, bearer token, schema),
// counted by valgrind's callgrind in the server process: bare Express, the
// same libraries composed by hand, and bulwark. Instruction counts do not move
// with the machine's load the way CPU time does, so a change to the request
// path can be judged on a shared machine.
//
// Each server runs under callgrind with V8 in its predictable mode (one thread,
// so the count does not depend on when background compiler threads run) and a
// garbage-collection schedule that does not follow wall time (GC_FLAGS). It
// takes an uninstrumented warm-up long enough for V8 to finish optimising the
// request path, a full garbage collection and a second warm-up (see
// `measure`), then `BENCH_SAMPLES` times:
// the counters are zeroed, `BENCH_REQUESTS` requests are sent, and the
// counters are dumped. Every request goes over one keep-alive connection.
// The median sample is reported with the spread of the samples, the median
// count outside the garbage collector (whether a major collection falls into
// a sample is what spreads them; the rest repeats within about 1%), and the
// median shares spent in V8's inline-cache misses, garbage collector and
// optimising compiler (the last near zero once the warm-up was long enough).
//
//   npm run bench:instructions
//   BENCH_ONLY=bulwark,bare   only these configurations (keys in the table below)
//   BENCH_WARMUP, BENCH_SETTLE, BENCH_REQUESTS, BENCH_SAMPLES   override the counts
//   BULWARK_ENTRY=file:///.../index.js   another build of bulwark (an A/B of a change)
//   BENCH_DUMPS=<dir>   keep each sample's callgrind dump there, for callgrind_annotate
import { execFile } from 'node:child_process';
import { Agent } from 'node:http';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  requestPathConfigurations,
  type KeyedConfiguration,
  selectConfigurations,
  TARGET_KEYS,
  TARGET_RATIOS,
} from './configurations.js';
import { echoHeaders, sendEcho } from './echo-requests.js';
import { GC_FLAGS } from './gc-flags.js';
import { median, startServer, versions } from './harness.js';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 10_000);
const SETTLE = Number(process.env.BENCH_SETTLE ?? 5000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 3);
const DUMPS = process.env.BENCH_DUMPS;
const run = promisify(execFile);

const headers = await echoHeaders();
const send = (agent: Agent, port: number, count: number): Promise<void> =>
  sendEcho(agent, port, count, headers);

const configurations = selectConfigurations(requestPathConfigurations(), TARGET_KEYS);
if (DUMPS !== undefined) await mkdir(DUMPS, { recursive: true });

interface Count {
  /** The median sample's instructions per request. */
  readonly median: number;
  readonly low: number;
  readonly high: number;
  /** The median sample's instructions per request outside the garbage collector. */
  readonly outsideGc: number;
  /** The median over samples of each slow path's share of the instructions (see SLOW_PATHS). */
  readonly slowPaths: Readonly<Record<string, number>>;
}

/**
 * Where a sample's instructions go, beside the total. Inline-cache misses and
 * the optimising compiler are runtime calls from JavaScript, counted with
 * everything they call (inclusive). The garbage collector runs from many
 * places (collections, incremental marking steps on allocation, sweeping and
 * marking tasks), so it is counted as the self cost of its own functions.
 * Express gives each request's `req` and `res` hidden classes of their own,
 * so property accesses on them miss (docs/performance.md); the compiler's
 * share is near zero once the warm-up was long enough.
 */
const SLOW_PATHS: Readonly<
  Record<string, { readonly inclusive: boolean; readonly pattern: RegExp }>
> = {
  'IC misses': {
    inclusive: true,
    pattern:
      /^v8::internal::Runtime_(Keyed)?(Load|Store|DefineNamedOwn|DefineKeyedOwn)IC_(Miss|Slow)\(/,
  },
  GC: {
    inclusive: false,
    pattern:
      /^(void |bool |unsigned long |int |heap::base::\S+ )?v8::internal::(Heap::|MarkCompact|MinorMarkCompact|Scaveng|IncrementalMarking|ConcurrentMarking|Sweeper|Marking|MainMarking|Evacuat|RecordMigratedSlot|WriteBarrier|RememberedSet|SlotSet|BodyDescriptorBase::Iterate\w*<v8::internal::(\w*Marking\w*|\w*Scaveng\w*|\w*Evacuat\w*))/,
  },
  compiler: { inclusive: true, pattern: /^v8::internal::Runtime_CompileOptimized\(/ },
};

/** Each slow path's share of a dump's instructions, from callgrind_annotate. */
async function slowPathShares(file: string, total: number): Promise<Record<string, number>> {
  const shares: Record<string, number> = Object.fromEntries(
    Object.keys(SLOW_PATHS).map((name) => [name, 0]),
  );
  for (const inclusive of [true, false]) {
    const { stdout } = await run(
      'callgrind_annotate',
      [`--inclusive=${inclusive ? 'yes' : 'no'}`, '--threshold=100', file],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    for (const line of stdout.split('\n')) {
      const match = /^\s*([\d,]+) \([\s\d.]+%\)\s+[^:]*:(.*) \[/.exec(line);
      if (match === null) continue;
      const count = Number(match[1]!.replaceAll(',', ''));
      for (const [name, path] of Object.entries(SLOW_PATHS)) {
        if (path.inclusive === inclusive && path.pattern.test(match[2]!)) {
          shares[name]! += count / total;
        }
      }
    }
  }
  return shares;
}

/** Instructions the server spends per request, over `SAMPLES` windows of `REQUESTS` after `WARMUP` and `SETTLE`. */
async function measure(configuration: KeyedConfiguration): Promise<Count> {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-callgrind-'));
  const server = await startServer(configuration, {
    wrap: [
      'valgrind',
      '-q',
      '--tool=callgrind',
      `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
      // The warm-up runs uninstrumented, several times faster; counting starts with the samples.
      '--instr-atstart=no',
    ],
    // --predictable implies --single-threaded.
    nodeArgs: ['--predictable', ...GC_FLAGS, '--expose-gc'],
  });
  const perRequest: number[] = [];
  const shares: Record<string, number>[] = [];
  // One connection from the first warm-up request to the last sample: closing one
  // deoptimises the server's stream and socket code, and a sample that began on a
  // new connection counted mostly V8 optimising that code again.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await send(agent, server.port, WARMUP);
    // The garbage left by start-up and warm-up is collected here, not in a sample: an app
    // that promotes little per request would otherwise mark it in whichever sample reaches
    // the old generation's limit. The collection drops optimised code that held maps now
    // dead, so V8 optimises again during the second warm-up.
    await server.collect();
    await send(agent, server.port, SETTLE);
    await run('callgrind_control', ['--instr=on', String(server.pid)]);
    for (let sample = 1; sample <= SAMPLES; sample++) {
      await run('callgrind_control', ['--zero', String(server.pid)]);
      await send(agent, server.port, REQUESTS);
      await run('callgrind_control', ['--dump', String(server.pid)]);
      // callgrind numbers its dumps from 1: `callgrind.out.<n>`.
      const dump = (await readdir(dir)).find((name) => name === `callgrind.out.${String(sample)}`);
      if (dump === undefined) throw new Error(`callgrind wrote no dump ${String(sample)}`);
      const text = await readFile(join(dir, dump), 'utf8');
      const summary = /^summary: (\d+)$/m.exec(text);
      if (summary === null) throw new Error('callgrind dump has no summary line');
      perRequest.push(Number(summary[1]) / REQUESTS);
      shares.push(await slowPathShares(join(dir, dump), Number(summary[1])));
      if (DUMPS !== undefined) {
        await copyFile(join(dir, dump), join(DUMPS, `${configuration.key}.${String(sample)}.out`));
      }
      process.stderr.write('.');
    }
  } finally {
    agent.destroy();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return {
    median: median(perRequest),
    outsideGc: median(perRequest.map((count, i) => count * (1 - shares[i]!.GC!))),
    low: Math.min(...perRequest),
    high: Math.max(...perRequest),
    slowPaths: Object.fromEntries(
      Object.keys(SLOW_PATHS).map((name) => [name, median(shares.map((share) => share[name]!))]),
    ),
  };
}

console.log(
  `Node ${process.version}, callgrind, V8 --predictable ${GC_FLAGS.join(' ')}; ${String(WARMUP)} warm-up requests, ` +
    `a full collection, ${String(SETTLE)} more, ` +
    `then ${String(SAMPLES)} samples of ${String(REQUESTS)} requests, one connection; ` +
    `bulwark from ${process.env.BULWARK_ENTRY ?? 'dist/index.js'}`,
);
console.log(versions(['express', 'helmet', 'cors', 'express-rate-limit', 'jsonwebtoken', 'zod']));
const counts = new Map<string, Count>();
for (const configuration of configurations) {
  counts.set(configuration.key, await measure(configuration));
}
process.stderr.write('\n');
const format = (n: number): string => Math.round(n).toLocaleString('en');
const ratio = (reference: number | undefined, count: number): string =>
  reference === undefined ? 'n/a' : `${(reference / count).toFixed(2)}x`;
/** The row `key` is compared with: the same server setup (plain, or with serverClasses()). */
const reference = (key: string, base: string): number | undefined =>
  counts.get(key.endsWith('+classes') ? `${base}+classes` : base)?.median;
const slowNames = Object.keys(SLOW_PATHS);
console.log(
  '\n| configuration | instructions / request (median) | samples low–high | outside GC | bare / this | hand stack / this | ' +
    `${slowNames.join(' | ')} |`,
);
console.log(
  `| --- | ---: | ---: | ---: | ---: | ---: | ${slowNames.map(() => '---:').join(' | ')} |`,
);
for (const configuration of configurations) {
  const count = counts.get(configuration.key)!;
  const slow = slowNames.map((name) => `${((count.slowPaths[name] ?? 0) * 100).toFixed(1)}%`);
  console.log(
    `| ${configuration.name} | ${format(count.median)} | ${format(count.low)}–${format(count.high)} | ${format(count.outsideGc)} | ` +
      `${ratio(reference(configuration.key, 'bare'), count.median)} | ${ratio(reference(configuration.key, 'hand'), count.median)} | ${slow.join(' | ')} |`,
  );
}
/** `a` against `b`: b's instructions over a's (above 1 means `a` is cheaper). */
function against(a: string, b: string, label: string): void {
  const x = counts.get(a);
  const y = counts.get(b);
  if (x === undefined || y === undefined) return;
  console.log(
    `${label}: ${(y.median / x.median).toFixed(2)}x (outside GC ${(y.outsideGc / x.outsideGc).toFixed(2)}x)`,
  );
}
console.log('\nThe bare and hand columns compare each row with the same server setup. Targets:');
for (const [a, b, label] of TARGET_RATIOS) against(a, b, label);
