// Instructions per request on POST /v1/echo (JSON body, bearer token, schema),
// counted by valgrind's callgrind in the server process: bare Express, the
// same libraries composed by hand, and bulwark. Instruction counts do not move
// with the machine's load the way CPU time does, so a change to the request
// path can be judged on a shared machine.
//
// Each server runs under callgrind with V8 on one thread (so the count does not
// depend on when background compiler threads run), takes a warm-up, then the
// counters are zeroed, a measured run is sent over one keep-alive connection,
// and the counters are dumped: only the measured requests are counted.
//
//   npm run bench:instructions   (BENCH_WARMUP, BENCH_REQUESTS override; BENCH_ONLY=alone
//   runs bare Express and the configurations whose name contains "alone")
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
import { distEntry } from './dist-entry.js';
import { startServer, versions, type Configuration } from './harness.js';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 1500);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1000);
const run = promisify(execFile);

const tokens = createTokenService({
  secret: BENCH_SECRET,
  issuer: BENCH_ISSUER,
  audience: BENCH_AUDIENCE,
  accessTtlSeconds: 3600,
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
 * Sends `count` requests one after another on one keep-alive connection. No
 * deadline: under valgrind a request that meets cold code can take seconds.
 */
async function send(port: number, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
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
  } finally {
    agent.destroy();
  }
}

const bulwark = distEntry();
const only = process.env.BENCH_ONLY;
const all: readonly Configuration[] = [
  { name: 'bare Express', app: 'bench/apps/bare.ts' },
  { name: 'by hand, key imported once (KeyObject)', app: 'bench/apps/hand.ts' },
  { name: 'bulwark hardened() + jwtAuth + validate', app: 'bench/apps/bulwark.ts', env: bulwark },
  {
    name: 'helmet + cors + express-rate-limit by hand',
    app: 'bench/apps/hand.ts',
    export: 'createTrafficApp',
  },
  {
    name: 'bulwark headers + CORS + hosts + rate limit in hardened()',
    app: 'bench/apps/bulwark.ts',
    export: 'createTrafficPresetApp',
    env: bulwark,
  },
  {
    name: 'express-rate-limit alone, by hand',
    app: 'bench/apps/hand.ts',
    export: 'createRateLimitApp',
  },
  { name: 'bulwark rateLimit() alone', app: 'bench/apps/rate-limit.ts', env: bulwark },
];
// The first configuration stays: the ratios are taken against it.
const configurations =
  only === undefined ? all : all.filter((c, i) => i === 0 || c.name.includes(only));

/** Instructions the server spends on `REQUESTS` requests after `WARMUP` requests. */
async function measure(configuration: Configuration): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-callgrind-'));
  const server = await startServer(configuration, {
    wrap: [
      'valgrind',
      '-q',
      '--tool=callgrind',
      `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
    ],
    nodeArgs: ['--single-threaded'],
  });
  try {
    await send(server.port, WARMUP);
    await run('callgrind_control', ['--zero', String(server.pid)]);
    await send(server.port, REQUESTS);
    await run('callgrind_control', ['--dump', String(server.pid)]);
    const dumps = (await readdir(dir)).filter((name) => /^callgrind\.out\.\d+$/.test(name));
    if (dumps.length !== 1)
      throw new Error(`expected one callgrind dump, found ${dumps.join(', ')}`);
    const text = await readFile(join(dir, dumps[0]!), 'utf8');
    const summary = /^summary: (\d+)$/m.exec(text);
    if (summary === null) throw new Error('callgrind dump has no summary line');
    return Number(summary[1]) / REQUESTS;
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(
  `Node ${process.version}, callgrind, V8 --single-threaded; ${String(WARMUP)} warm-up requests, ` +
    `${String(REQUESTS)} measured, one connection`,
);
console.log(versions(['express', 'helmet', 'cors', 'express-rate-limit', 'jsonwebtoken', 'zod']));
const counts: number[] = [];
for (const configuration of configurations) {
  counts.push(await measure(configuration));
  process.stderr.write('.');
}
process.stderr.write('\n');
const bare = counts[0] ?? 1;
const hand = counts[configurations.indexOf(all[1]!)];
console.log('\n| configuration | instructions / request | bare / this | hand stack / this |');
console.log('| --- | ---: | ---: | ---: |');
for (const [i, configuration] of configurations.entries()) {
  const count = counts[i]!;
  console.log(
    `| ${configuration.name} | ${Math.round(count).toLocaleString('en')} | ${(bare / count).toFixed(2)}x | ${hand === undefined ? '-' : `${(hand / count).toFixed(2)}x`} |`,
  );
}
