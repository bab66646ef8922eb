// The full stack on one route (POST /v1/echo: JSON body, bearer token, schema):
// bare Express; the same libraries composed by hand (helmet, cors,
// express-rate-limit, jsonwebtoken, zod), with the secret given as a string and
// imported once as a KeyObject; bulwark's hardened() + jwtAuth + validate; and
// the same bulwark parts mounted one app.use() each.
//
//   npm run bench        (BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS override)
import { createTokenService, memoryStore } from '../src/index.js';
import {
  BENCH_AUDIENCE,
  BENCH_BODY,
  BENCH_ISSUER,
  BENCH_ORIGIN,
  BENCH_SECRET,
} from './apps/shared.js';
import { distEntry } from './dist-entry.js';
import { compare, conditions, table, versions } from './harness.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);

// One access token for every request; each app verifies it with the same secret.
const tokens = createTokenService({
  secret: BENCH_SECRET,
  issuer: BENCH_ISSUER,
  audience: BENCH_AUDIENCE,
  accessTtlSeconds: 3600,
  store: memoryStore(),
});
const { access_token: token } = await tokens.issue({ sub: 'bench-user' });

console.log(conditions({ rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS }));
console.log(
  versions([
    'express',
    'helmet',
    'cors',
    'express-rate-limit',
    'jsonwebtoken',
    'zod',
    'autocannon',
  ]),
);
const bulwark = distEntry();
const summaries = await compare({
  configurations: [
    { name: 'bare Express', app: 'bench/apps/bare.ts' },
    {
      name: 'by hand, jsonwebtoken given a string secret',
      app: 'bench/apps/hand.ts',
      export: 'createStringSecretApp',
    },
    { name: 'by hand, key imported once (KeyObject)', app: 'bench/apps/hand.ts' },
    { name: 'bulwark hardened() + jwtAuth + validate', app: 'bench/apps/bulwark.ts', env: bulwark },
    {
      name: 'bulwark, the same parts one app.use() each',
      app: 'bench/apps/bulwark.ts',
      export: 'createLayeredApp',
      env: bulwark,
    },
  ],
  load: {
    method: 'POST',
    path: '/v1/echo',
    headers: {
      'content-type': 'application/json',
      origin: BENCH_ORIGIN,
      authorization: `Bearer ${token}`,
    },
    body: BENCH_BODY,
  },
  rounds: ROUNDS,
  seconds: SECONDS,
  connections: CONNECTIONS,
});
console.log(`\n${table(summaries)}\n`);
const hand = summaries[2];
const preset = summaries[3];
if (hand !== undefined && preset !== undefined) {
  console.log(
    `hardened() stack / KeyObject hand stack: ${(preset.requestsPerSecond / hand.requestsPerSecond).toFixed(3)} by req/s, ` +
      `${(hand.cpuPerRequest / preset.cpuPerRequest).toFixed(3)} by server CPU per request`,
  );
}
