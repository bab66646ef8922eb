/**
 * Memory at the caps, in two parts.
 *
 * 1. Every bounded structure filled to its default cap, in this process:
 *    garbage collected before and after, the difference of `heapUsed +
 *    external` (lru-cache keeps its index in typed arrays, outside the heap).
 *    Keys are built per entry the way requests build them, so the strings a
 *    structure keeps count against it, and each structure meets twice its cap
 *    of distinct keys: the figure is the steady state of a full structure
 *    that keeps evicting (a full Map's table also holds the slots of deleted
 *    keys until it is rebuilt).
 * 2. The example server (`examples/server.ts`, memory mode) as a child
 *    process, flooded with one request from each of many distinct client
 *    addresses. The example trusts one proxy hop (`TRUST_PROXY_HOPS=1`, as
 *    behind a load balancer), so each request names its client in
 *    `X-Forwarded-For`; the socket itself is loopback. Resident memory is
 *    read after garbage collection (bench/memory-probe.ts) when idle and at
 *    checkpoints through the flood, and the growth is compared with the sum
 *    of part 1's figures for the structures the flood fills.
 *
 * Run: npm run bench:memory   (BENCH_FLOOD=<requests>, BENCH_CONNECTIONS, BENCH_PART=caps|flood)
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Options } from 'express-rate-limit';
import { createTokenService, memoryStore } from '../src/index.js';
import { Memo } from '../src/internal/memo.js';
import { circuitBreaker } from '../src/llm/circuit-breaker.js';
import { SlidingWindowCounter } from '../src/monitoring/sliding-window.js';
import { BoundedMemoryStore } from '../src/rate-limit/memory-store.js';

const FLOOD = Number(process.env.BENCH_FLOOD ?? 150_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const CHECKPOINTS = 6;
const PART = process.env.BENCH_PART ?? 'both';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:memory does)');
const collect = gc;

const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const size = (bytes: number) => (bytes < MB ? `${(bytes / 1024).toFixed(0)} KB` : mb(bytes));

/** The i-th client address, 10.0.0.0/8 upwards: 16 million distinct IPv4 addresses. */
function ip(i: number): string {
  return `10.${String((i >>> 16) & 255)}.${String((i >>> 8) & 255)}.${String(i & 255)}`;
}

/** A flat string of `length` random hex characters, as a hash or a random id is. */
function randomText(length: number): string {
  return randomBytes(Math.ceil(length / 2))
    .toString('hex')
    .slice(0, length);
}

function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

async function settle(): Promise<void> {
  collect();
  await new Promise((resolve) => setTimeout(resolve, 100));
  collect();
}

interface Cap {
  readonly name: string;
  readonly cap: number;
  readonly entry: string;
  /** Filled by a flood of distinct client addresses. */
  readonly perClient: boolean;
  /** Builds and fills the structure, and returns it so it stays alive while measured. */
  readonly fill: () => unknown;
}

const HOUR = 3_600_000;

const caps: Cap[] = [
  {
    name: 'rateLimit() memory store',
    cap: 100_000,
    entry: 'key `ip:<address>`, `{totalHits, resetAt}`',
    perClient: true,
    fill() {
      const store = new BoundedMemoryStore(100_000);
      store.init({ windowMs: 60_000 } as Options);
      for (let i = 0; i < 2 * 100_000; i++) store.increment(`ip:${ip(i)}`);
      return store;
    },
  },
  {
    name: 'suspiciousActivity() counter',
    cap: 100_000,
    entry: 'key `<address>`, four window numbers',
    perClient: true,
    fill() {
      const counter = new SlidingWindowCounter(HOUR, 1000, 100_000);
      for (let i = 0; i < 2 * 100_000; i++) counter.hit(ip(i), 1_700_000_000_000);
      return counter;
    },
  },
  {
    name: 'loginRateLimit() per address and username',
    cap: 100_000,
    entry: 'key `ip:<address>|u:<64-hex HMAC>`, `{totalHits, resetAt}`',
    perClient: false,
    fill() {
      const store = new BoundedMemoryStore(100_000);
      store.init({ windowMs: 60_000 } as Options);
      for (let i = 0; i < 2 * 100_000; i++) store.increment(`ip:${ip(i)}|u:${randomText(64)}`);
      return store;
    },
  },
  {
    name: 'loginRateLimit() per address',
    cap: 100_000,
    entry: 'key `ip:<address>|all`, `{totalHits, resetAt}`',
    perClient: false,
    fill() {
      const store = new BoundedMemoryStore(100_000);
      store.init({ windowMs: 900_000 } as Options);
      for (let i = 0; i < 2 * 100_000; i++) store.increment(`ip:${ip(i)}|all`);
      return store;
    },
  },
  {
    name: 'memoryStore() (auth data)',
    cap: 100_000,
    entry: 'one refresh family (its JSON record) or one refresh token, two per session',
    perClient: false,
    async fill() {
      const store = memoryStore();
      const tokens = createTokenService({
        secret: randomText(48),
        issuer: 'https://api.example.com',
        audience: 'api',
        store,
      });
      for (let i = 0; i < 2 * 50_000; i++)
        await tokens.issue({ sub: `user-${String(i)}`, roles: ['user'] });
      return store;
    },
  },
  {
    name: 'circuitBreaker() memory cache',
    cap: 1000,
    entry: 'SHA-256 key, `{value, cachedAt}`; here a 1 KiB answer',
    perClient: false,
    async fill() {
      const breaker = circuitBreaker(() => Promise.resolve(randomText(1024)));
      for (let i = 0; i < 2 * 1000; i++) await breaker.call(`prompt ${String(i)}`);
      breaker.shutdown();
      return breaker;
    },
  },
  {
    name: 'jwtAuth() verified-token memo',
    cap: 1024,
    entry: 'an access token (~400 characters), its claims as JSON',
    perClient: false,
    fill() {
      const memo = new Memo<{ claims: string; exp: number; nbf: number | undefined }>(1024);
      const claims = JSON.stringify({
        sub: 'user-12345',
        roles: ['user'],
        jti: randomText(22),
        sid: randomText(22),
        iat: 1_700_000_000,
        exp: 1_700_000_900,
        iss: 'https://api.example.com',
        aud: 'api',
      });
      for (let i = 0; i < 2 * 1024; i++) {
        memo.set(randomText(400), {
          claims: `${claims} `.trim(),
          exp: 1_700_000_900 + i,
          nbf: undefined,
        });
      }
      return memo;
    },
  },
  {
    name: 'apiKeyAuth() last-use throttle',
    cap: 10_000,
    entry: 'a 16-hex key id, a time',
    perClient: false,
    fill() {
      const memo = new Memo<number>(10_000);
      for (let i = 0; i < 2 * 10_000; i++) memo.set(randomText(16), 1_700_000_000_000 + i);
      return memo;
    },
  },
  {
    name: 'redaction key-name memo',
    cap: 4096,
    entry: 'a key name up to 64 characters, a boolean',
    perClient: false,
    fill() {
      const memo = new Memo<boolean>(4096, 64);
      for (let i = 0; i < 2 * 4096; i++) memo.set(randomText(64), false);
      return memo;
    },
  },
  {
    name: 'trustedHosts() verdict memo',
    cap: 256,
    entry: 'a Host value up to 260 characters, a verdict',
    perClient: false,
    fill() {
      const memo = new Memo<string>(256, 260);
      for (let i = 0; i < 2 * 256; i++) memo.set(randomText(260), 'host_not_listed');
      return memo;
    },
  },
  {
    name: 'bodyLimits() Content-Type memo',
    cap: 64,
    entry: 'a Content-Type up to 256 characters, its parsed type',
    perClient: false,
    fill() {
      const memo = new Memo<{ type: string; charset: string | undefined }>(64, 256);
      for (let i = 0; i < 2 * 64; i++)
        memo.set(randomText(256), { type: 'application/json', charset: undefined });
      return memo;
    },
  },
];

/** Its own function, so the structure is unreachable once it returns (an async loop's frame would keep it). */
async function measureOne(cap: Cap): Promise<number> {
  await settle();
  const before = used();
  const held: unknown = await cap.fill();
  await settle();
  const delta = used() - before;
  // Read after the measurement, so the structure is alive while it is measured.
  if (held === undefined) throw new Error(`${cap.name}: nothing built`);
  return delta;
}

async function measureCaps(which: readonly Cap[]): Promise<Map<string, number>> {
  const bytes = new Map<string, number>();
  console.log('\n## Bounded structures at their default cap\n');
  console.log('| structure | cap | one entry | bytes at cap | bytes / entry |');
  console.log('| --- | ---: | --- | ---: | ---: |');
  for (const cap of which) {
    const delta = await measureOne(cap);
    bytes.set(cap.name, delta);
    console.log(
      `| ${cap.name} | ${cap.cap.toLocaleString('en')} | ${cap.entry} | ${size(delta)} | ${(delta / cap.cap).toFixed(0)} |`,
    );
  }
  const total = [...bytes.values()].reduce((a, b) => a + b, 0);
  console.log(`\nSum of the caps above: ${mb(total)}`);
  return bytes;
}

// --- part 2: the example server under a flood --------------------------------

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface Usage {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
}

/**
 * Resident bytes of the child's `[heap]` mapping (glibc's main malloc arena,
 * grown with brk), of its other anonymous mappings (V8's pages, thread
 * arenas) and of file-backed mappings (the node binary and libraries: clean
 * pages the kernel may drop and read back at any time), from /proc. Linux only.
 */
function residentByMapping(pid: number | undefined): {
  brk: number;
  anonymous: number;
  file: number;
} {
  const result = { brk: 0, anonymous: 0, file: 0 };
  if (pid === undefined) return result;
  let name = '';
  try {
    for (const line of readFileSync(`/proc/${String(pid)}/smaps`, 'utf8').split('\n')) {
      const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (header !== null) name = header[1] ?? '';
      else if (line.startsWith('Rss:')) {
        const kb = Number(/(\d+)/.exec(line)?.[1] ?? 0) * 1024;
        if (name === '[heap]') result.brk += kb;
        else if (name === '') result.anonymous += kb;
        else if (name.startsWith('/')) result.file += kb;
      }
    }
  } catch {
    // Not Linux: the columns stay at zero.
  }
  return result;
}

interface Run {
  readonly idle: Usage;
  readonly last: Usage;
}

/**
 * One example server, FLOOD requests; `client(i)` names the i-th request's
 * address. Prints the checkpoints and returns the idle and final readings.
 */
async function floodExample(label: string, client: (i: number) => string): Promise<Run> {
  const port = await freePort();
  const probe = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));
  const server = fileURLToPath(new URL('../examples/server.ts', import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1' };
  for (const name of [
    'REDIS_URL',
    'REDIS_CLUSTER_NODES',
    'DATABASE_URL',
    'RATE_LIMIT_STORAGE_URI',
  ]) {
    env[name] = undefined;
  }
  env.ENVIRONMENT = 'development';
  env.TRUST_PROXY_HOPS = '1';
  const child = fork(server, [], {
    execArgv: ['--expose-gc', '--import', 'tsx', '--import', probe],
    env,
    // Every refused request is a security event written as a JSON line; only the
    // tail is kept, to show why the server stopped if it does.
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4096);
  });
  child.on('exit', (code) => {
    if (code !== null && code !== 0)
      process.stderr.write(`example server exited ${String(code)}:\n${tail}\n`);
  });

  const measure = async (): Promise<Usage> => {
    child.send('measure');
    const [reply] = (await once(child, 'message')) as [{ memory: Usage }];
    return reply.memory;
  };

  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const get = (path: string, client?: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: '127.0.0.1',
          port,
          path,
          headers: client === undefined ? {} : { 'x-forwarded-for': client },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            resolve(res.statusCode ?? 0);
          });
        },
      );
      req.on('error', reject);
      req.end();
    });

  try {
    for (let tries = 0; ; tries++) {
      try {
        if ((await get('/health')) === 200) break;
      } catch (error) {
        if (tries > 300) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const started = await measure();
    // Warm-up from one address, so code loaded and compiled on first use is in the idle figure.
    for (let i = 0; i < 2000; i++) await get('/me', '192.0.2.1');
    const idle = await measure();

    const statuses = new Map<number, number>();
    let sent = 0;
    const floodStarted = process.hrtime.bigint();
    const rows: string[] = [];
    const step = Math.ceil(FLOOD / CHECKPOINTS);
    let last = idle;
    while (sent < FLOOD) {
      const until = Math.min(FLOOD, sent + step);
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (sent < until) {
            const status = await get('/me', client(sent++));
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          }
        }),
      );
      last = await measure();
      const mapped = residentByMapping(child.pid);
      rows.push(
        `| ${sent.toLocaleString('en')} | ${mb(last.rss)} | ${mb(last.rss - idle.rss)} | ${mb(last.heapUsed)} | ${mb(last.heapUsed + last.external - idle.heapUsed - idle.external)} | ${mb(last.heapTotal)} | ${mb(last.rss - last.heapTotal - last.external)} | ${mb(mapped.brk)} | ${mb(mapped.anonymous)} | ${mb(mapped.file)} |`,
      );
    }
    const seconds = Number(process.hrtime.bigint() - floodStarted) / 1e9;

    console.log(`\n### ${label}\n`);
    console.log(
      `${FLOOD.toLocaleString('en')} requests, ${String(CONNECTIONS)} connections, ${seconds.toFixed(0)} s ` +
        `(${(FLOOD / seconds).toFixed(0)} requests/s); statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    console.log(
      `Just started: RSS ${mb(started.rss)}; idle after warm-up: RSS ${mb(idle.rss)}, heap used ${mb(idle.heapUsed)}, heap total ${mb(idle.heapTotal)}, external ${mb(idle.external)}\n`,
    );
    console.log(
      '| requests | RSS after GC | RSS growth | heap used | heap + external growth | heap total | RSS outside the V8 heap and external | malloc main arena RSS | other anonymous RSS | file-backed RSS |',
    );
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const row of rows) console.log(row);
    return { idle, last };
  } finally {
    agent.destroy();
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

console.log(
  `Node ${process.version}, ${String(cpus().length)} cores, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
// The flood alone still measures the caps it is compared with.
const bytes = await measureCaps(PART === 'flood' ? caps.filter((c) => c.perClient) : caps);
const perClient = caps
  .filter((c) => c.perClient)
  .reduce((sum, c) => sum + (bytes.get(c.name) ?? 0), 0);
if (PART !== 'caps') {
  console.log('\n## The example server (memory mode)\n');
  console.log(
    'GET /me with no credentials: a 401 after every protection of hardened() (request id, trusted host, ' +
      'headers, CORS, per-address rate limit, body limits, deadline, activity counter).',
  );
  // The same requests from 1,000 addresses: what the traffic itself leaves behind, with
  // almost nothing to remember per client. Above about 1,700 requests/s some exceed the
  // limit of 100 a minute and get a 429; the statuses line shows how many.
  const control = await floodExample('Control: the same requests from 1,000 addresses', (i) =>
    ip(i % 1000),
  );
  const flood = await floodExample('Flood: every request from its own address', ip);
  const growth = (run: Run) => run.last.rss - run.idle.rss;
  const heapGrowth = (run: Run) =>
    run.last.heapUsed + run.last.external - run.idle.heapUsed - run.idle.external;
  const perAddress = growth(flood) - growth(control);
  console.log(
    `\nCaps the flood fills (rate limit + activity counter): ${mb(perClient)}.\n` +
      `Flood RSS growth ${mb(growth(flood))} (${(growth(flood) / perClient).toFixed(2)}x the caps); ` +
      `control ${mb(growth(control))}; flood over control ${mb(perAddress)} ` +
      `(${(perAddress / perClient).toFixed(2)}x the caps, target <= 1.50x).\n` +
      `Heap + external growth: flood ${mb(heapGrowth(flood))}, control ${mb(heapGrowth(control))} ` +
      `(${((heapGrowth(flood) - heapGrowth(control)) / perClient).toFixed(2)}x the caps).`,
  );
}
console.log(
  `\nload average at the end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
