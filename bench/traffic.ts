// Requests per second of bare Express, express-rate-limit alone, bulwark's
// rateLimit() alone, helmet + cors + express-rate-limit configured by hand, and
// bulwark's securityHeaders + corsPolicy + trustedHosts + rateLimit (one
// app.use() each, then the same four inside hardened()), on the same JSON echo
// route; then the Redis commands each request costs when rateLimit() counts in Redis.
//
//   npm run bench:traffic        (BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS override)
import { createClient } from 'redis';
import { PrivateRedis } from '../test/helpers/redis.js';
import { BENCH_BODY, BENCH_ORIGIN } from './apps/shared.js';
import { distEntry } from './dist-entry.js';
import { compare, conditions, send, startServer, table, versions, type Load } from './harness.js';
import { commandsPerRequest } from './redis-commands.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const REDIS_REQUESTS = 2000;

const load: Load = {
  method: 'POST',
  path: '/v1/echo',
  headers: { 'content-type': 'application/json', origin: BENCH_ORIGIN },
  body: BENCH_BODY,
};

console.log(conditions({ rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS }));
console.log(
  versions([
    'express',
    'helmet',
    'cors',
    'express-rate-limit',
    'rate-limit-redis',
    'redis',
    'autocannon',
  ]),
);
const bulwarkEntry = distEntry();
const summaries = await compare({
  configurations: [
    { name: 'bare Express', app: 'bench/apps/bare.ts' },
    {
      name: 'express-rate-limit alone, by hand',
      app: 'bench/apps/hand.ts',
      export: 'createRateLimitApp',
    },
    {
      name: 'bulwark rateLimit() alone',
      app: 'bench/apps/rate-limit.ts',
      env: bulwarkEntry,
    },
    {
      name: 'helmet + cors + express-rate-limit by hand',
      app: 'bench/apps/hand.ts',
      export: 'createTrafficApp',
    },
    {
      name: 'bulwark securityHeaders + corsPolicy + trustedHosts + rateLimit',
      app: 'bench/apps/bulwark.ts',
      export: 'createTrafficApp',
      env: bulwarkEntry,
    },
    {
      name: 'the same four bulwark parts inside hardened() (one layer)',
      app: 'bench/apps/bulwark.ts',
      export: 'createTrafficPresetApp',
      env: bulwarkEntry,
    },
  ],
  load,
  rounds: ROUNDS,
  seconds: SECONDS,
  connections: CONNECTIONS,
});
console.log(`\n${table(summaries)}\n`);
const [, erlAlone, bulwarkAlone, hand, bulwark] = summaries;
if (erlAlone !== undefined && bulwarkAlone !== undefined) {
  console.log(
    `rateLimit() alone / express-rate-limit alone: ${(bulwarkAlone.requestsPerSecond / erlAlone.requestsPerSecond).toFixed(3)} by req/s, ` +
      `${(erlAlone.cpuPerRequest / bulwarkAlone.cpuPerRequest).toFixed(3)} by server CPU per request`,
  );
}
if (hand !== undefined && bulwark !== undefined) {
  console.log(
    `bulwark / hand: ${(bulwark.requestsPerSecond / hand.requestsPerSecond).toFixed(3)} by req/s, ` +
      `${(hand.cpuPerRequest / bulwark.cpuPerRequest).toFixed(3)} by server CPU per request`,
  );
}

const redis = await PrivateRedis.start();
const admin = createClient({ url: redis.url });
await admin.connect();
const server = await startServer({
  name: 'bulwark, Redis store',
  app: 'bench/apps/bulwark.ts',
  export: 'createTrafficRedisApp',
  env: { ...bulwarkEntry, REDIS_URL: redis.url },
});
try {
  await send(server.port, load, 200);
  const perRequest = await commandsPerRequest(admin, REDIS_REQUESTS, () =>
    send(server.port, load, REDIS_REQUESTS),
  );
  console.log(
    `\nrateLimit() on Redis, ${String(REDIS_REQUESTS)} requests: ${perRequest.sent.toFixed(3)} commands sent per request, ` +
      `${perRequest.inScript.toFixed(3)} run inside its script (${perRequest.detail})`,
  );
} finally {
  await server.stop();
  await admin.quit();
  await redis.stop();
}
