// Inline-cache misses per request on POST /v1/echo, by the code that missed:
// V8's --log-ic writes an event for every property access that falls to the
// runtime. On a plain server Express gives each request's `req` and `res`
// hidden classes of their own, so every site that reads or writes one of their
// properties misses once per request, and the misses are about half of a
// request's instructions (bench/README.md). This shows which sites they are.
//
// Each server takes a warm-up, a pause, then BENCH_REQUESTS requests on one
// keep-alive connection; the events logged after the middle of the pause are
// counted (the log's clock starts with the process, within a few milliseconds
// of when it was spawned; a timer in the app may log during the pause).
//
//   npm run bench:ic-misses              bulwark and the hand stack
//   BENCH_ONLY=bulwark+classes,...       other configurations (bench/configurations.ts)
//   BENCH_SITES=40                       how many sites to list per configuration
import { Agent } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requestPathConfigurations, selectConfigurations } from './configurations.js';
import { echoHeaders, sendEcho } from './echo-requests.js';
import { startServer } from './harness.js';

const WARMUP = 8000;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1000);
const SITES = Number(process.env.BENCH_SITES ?? 30);
const PAUSE_MS = 1500;
const IC_EVENT = /^(Keyed)?(Load|Store|DefineNamedOwn|DefineKeyedOwn|StoreInArrayLiteral)IC,/;

const headers = await echoHeaders();

interface Code {
  readonly start: number;
  readonly size: number;
  readonly name: string;
}

/**
 * Misses per request by site, `kind key @ function position`, from a --log-ic
 * log: the events logged from `fromUs` on the log's clock.
 */
function missesBySite(log: string, fromUs: number): Map<string, number> {
  const codes: Code[] = [];
  const events: string[][] = [];
  for (const line of log.split('\n')) {
    if (line.startsWith('code-creation,')) {
      const fields = line.split(',');
      codes.push({
        start: parseInt(fields[4] ?? '', 16),
        size: Number(fields[5]),
        // `<function> <script>:<line>:<column>`; builtins and stubs have a bare name.
        name: fields[6] ?? '?',
      });
    } else if (IC_EVENT.test(line)) events.push(line.split(','));
  }
  codes.sort((a, b) => a.start - b.start);
  const codeAt = (pc: number): string => {
    let low = 0;
    let high = codes.length - 1;
    let found: Code | undefined;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const code = codes[middle]!;
      if (code.start <= pc) {
        found = code;
        low = middle + 1;
      } else high = middle - 1;
    }
    return found !== undefined && pc < found.start + found.size ? found.name : '?';
  };
  // Event fields: kind, pc, time (µs), line, column, old state, new state, map, key, ...
  const sites = new Map<string, number>();
  const root = `${process.cwd()}/`;
  for (const event of events) {
    if (Number(event[2]) < fromUs) continue;
    const where = codeAt(parseInt(event[1] ?? '', 16))
      .replaceAll(`file://${root}`, '')
      .replaceAll(root, '');
    const site = `${event[0] ?? ''} ${event[8] ?? ''} @ ${where} ${event[3] ?? ''}:${event[4] ?? ''}`;
    sites.set(site, (sites.get(site) ?? 0) + 1 / REQUESTS);
  }
  return sites;
}

const dir = await mkdtemp(join(tmpdir(), 'bulwark-ic-'));
try {
  for (const configuration of selectConfigurations(requestPathConfigurations(), [
    'hand',
    'bulwark',
  ])) {
    const file = join(dir, `${configuration.key}.log`);
    const spawned = performance.now();
    const server = await startServer(configuration, {
      nodeArgs: ['--log-ic', `--logfile=${file}`, '--no-logfile-per-isolate'],
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let fromUs = 0;
    try {
      await sendEcho(agent, server.port, WARMUP, headers);
      await sleep(PAUSE_MS / 2);
      fromUs = (performance.now() - spawned) * 1000;
      await sleep(PAUSE_MS / 2);
      await sendEcho(agent, server.port, REQUESTS, headers);
    } finally {
      agent.destroy();
      await server.stop();
    }
    const sites = missesBySite(await readFile(file, 'utf8'), fromUs);
    const total = [...sites.values()].reduce((sum, n) => sum + n, 0);
    console.log(`\n${configuration.name}: ${total.toFixed(1)} inline-cache misses per request`);
    for (const [site, perRequest] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, SITES)) {
      console.log(`${perRequest.toFixed(1).padStart(6)}  ${site}`);
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
