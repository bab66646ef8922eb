// Instructions per request on POST /v1/echo (JSON body, bearer token, schema),
// counted by valgrind's callgrind in the server process: bare Express, the
// same libraries composed by hand, and bulwark. Instruction counts do not move
// with the machine's load the way CPU time does, so a change to the request
// path can be judged on a shared machine.
//
// Each server runs under callgrind with V8 in its predictable mode (one thread,
// so the count does not depend on when background compiler threads run, and a
// fixed garbage-collection schedule), takes a warm-up, then
// `BENCH_SAMPLES` times: the counters are zeroed, `BENCH_REQUESTS` requests are
// sent over one keep-alive connection, and the counters are dumped. Only the
// measured requests are counted; the median sample is reported, with the
// spread of the samples, since JIT and GC timing still move single samples.
//
//   npm run bench:instructions
//   BENCH_ONLY=bulwark,bare   only these configurations (keys in the table below)
//   BENCH_WARMUP, BENCH_REQUESTS, BENCH_SAMPLES   override the counts
//   BULWARK_ENTRY=file:///.../index.js   another build of bulwark (an A/B of a change)
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request, type IncomingMessage } from 'node:http';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTokenService, memoryStore } from '../src/index.js';
import {
  BENCH_AUDIENCE,
  BENCH_BODY,
  BENCH_ISSUER,
  BENCH_ORIGIN,
  BENCH_SECRET,
} from './apps/shared.js';
import { requestPathConfigurations, selectConfigurations } from './configurations.js';
import { median, startServer, versions, type Configuration } from './harness.js';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 5000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 3);
const run = promisify(execFile);

const tokens = createTokenService({
  secret: BENCH_SECRET,
  issuer: BENCH_ISSUER,
  audience: BENCH_AUDIENCE,
  accessTtl: 3600,
  store: memoryStore(),
});
const { access_token: token } = await tokens.issue({ sub: 'bench-user' });

const headers = {
  'content-type': 'application/json',
  'content-length': String(Buffer.byteLength(BENCH_BODY)),
  origin: BENCH_ORIGIN,
  authorization: `Bearer ${token}`,
};

/**
 * Sends `count` requests one after another on the agent's one keep-alive
 * connection. No deadline: under valgrind a request that meets cold code can
 * take seconds.
 */
async function send(agent: Agent, port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const req = request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: '/v1/echo',
      headers,
      agent,
    });
    req.end(BENCH_BODY);
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.resume();
    await once(res, 'end');
    if (res.statusCode !== 200) throw new Error(`answered ${String(res.statusCode)}`);
  }
}

const configurations = selectConfigurations(requestPathConfigurations(), [
  'bare',
  'hand',
  'bulwark',
  'hand-traffic',
  'bulwark-traffic',
  'hand-alone',
  'bulwark-alone',
]);

interface Count {
  /** The median sample's instructions per request. */
  readonly median: number;
  readonly low: number;
  readonly high: number;
}

/** Instructions the server spends per request, over `SAMPLES` windows of `REQUESTS` after `WARMUP`. */
async function measure(configuration: Configuration): Promise<Count> {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-callgrind-'));
  const server = await startServer(configuration, {
    wrap: [
      'valgrind',
      '-q',
      '--tool=callgrind',
      `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
    ],
    // --predictable implies --single-threaded; the fixed GC schedule stops heap growth,
    // idle and memory-reducer collections from following wall time, which under
    // valgrind swung single samples of one build by up to 60%.
    nodeArgs: ['--predictable', '--predictable-gc-schedule'],
  });
  const perRequest: number[] = [];
  // One connection from the first warm-up request to the last sample: closing one
  // deoptimises the server's stream and socket code, and a sample that began on a
  // new connection counted mostly V8 optimising that code again.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await send(agent, server.port, WARMUP);
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
      process.stderr.write('.');
    }
  } finally {
    agent.destroy();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return {
    median: median(perRequest),
    low: Math.min(...perRequest),
    high: Math.max(...perRequest),
  };
}

console.log(
  `Node ${process.version}, callgrind, V8 --predictable --predictable-gc-schedule; ${String(WARMUP)} warm-up requests, ` +
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
const bare = counts.get('bare')?.median;
const hand = counts.get('hand')?.median;
const ratio = (reference: number | undefined, count: number): string =>
  reference === undefined ? 'n/a' : `${(reference / count).toFixed(2)}x`;
console.log(
  '\n| configuration | instructions / request (median) | samples low–high | bare / this | hand stack / this |',
);
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const configuration of configurations) {
  const count = counts.get(configuration.key)!;
  console.log(
    `| ${configuration.name} | ${format(count.median)} | ${format(count.low)}–${format(count.high)} | ${ratio(bare, count.median)} | ${ratio(hand, count.median)} |`,
  );
}
