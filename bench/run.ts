// The full stack on one route (POST /v1/echo: JSON body, bearer token, schema):
// bare Express; the same libraries composed by hand (helmet, cors,
// express-rate-limit, jsonwebtoken, zod), with the secret given as a string and
// imported once as a KeyObject; bulwark's hardened() + jwtAuth + validate; the
// same bulwark parts mounted one app.use() each; and the traffic part alone
// (headers + CORS + trusted hosts + rate limit), by hand and in hardened();
// then each again served with serverClasses(), as the example server is.
// It prints every figure the "Full stack" table of docs/performance.md needs.
//
//   npm run bench        (BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS override;
//                         BENCH_ONLY=bare,hand,bulwark runs only those configurations)
import { BENCH_BODY, BENCH_ORIGIN } from './apps/shared.js';
import {
  requestPathConfigurations,
  selectConfigurations,
  TARGET_KEYS,
  TARGET_RATIOS,
} from './configurations.js';
import { benchAccessToken } from './token.js';
import { compare, conditions, table, versions } from './harness.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);

const token = await benchAccessToken();

const configurations = selectConfigurations(requestPathConfigurations(), [
  ...TARGET_KEYS,
  'bulwark-layered',
]);

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
const summaries = await compare({
  configurations,
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

const byKey = new Map(configurations.map((c, i) => [c.key, summaries[i]!]));
/** `a` against `b` by server CPU per request (b's cost over a's: above 1 means `a` is cheaper). */
function against(a: string, b: string, label: string): void {
  const x = byKey.get(a);
  const y = byKey.get(b);
  if (x === undefined || y === undefined) return;
  console.log(
    `${label}: ${(y.cpuPerRequest / x.cpuPerRequest).toFixed(2)}x by server CPU per request, ` +
      `${(x.requestsPerSecond / y.requestsPerSecond).toFixed(2)}x by req/s`,
  );
}
for (const [a, b, label] of TARGET_RATIOS) against(a, b, label);
