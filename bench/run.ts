// The full stack on one route (POST /v1/echo: JSON body, bearer token, schema):
// bare Express; the same libraries composed by hand (helmet, cors,
// express-rate-limit, jsonwebtoken, zod), with the secret given as a string and
// imported once as a KeyObject; bulwark's hardened() + jwtAuth + validate; the
// same bulwark parts mounted one app.use() each; and the traffic part alone
// (headers + CORS + trusted hosts + rate limit), by hand and in hardened().
// It prints every figure the "Full stack" table of docs/performance.md needs.
//
//   npm run bench        (BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS override;
//                         BENCH_ONLY=bare,hand,bulwark runs only those configurations)
import { createTokenService, memoryStore } from '../src/index.js';
import {
  BENCH_AUDIENCE,
  BENCH_BODY,
  BENCH_ISSUER,
  BENCH_ORIGIN,
  BENCH_SECRET,
} from './apps/shared.js';
import { distEntry } from './dist-entry.js';
import { compare, conditions, table, versions, type Configuration } from './harness.js';

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

const bulwark = distEntry();
/** Every configuration, by the key `BENCH_ONLY` selects it with; the first one chosen is the reference. */
const ALL: readonly (Configuration & { readonly key: string })[] = [
  { key: 'bare', name: 'bare Express', app: 'bench/apps/bare.ts' },
  {
    key: 'hand-string',
    name: 'by hand, jsonwebtoken given a string secret',
    app: 'bench/apps/hand.ts',
    export: 'createStringSecretApp',
  },
  { key: 'hand', name: 'by hand, key imported once (KeyObject)', app: 'bench/apps/hand.ts' },
  {
    key: 'bulwark',
    name: 'bulwark hardened() + jwtAuth + validate',
    app: 'bench/apps/bulwark.ts',
    env: bulwark,
  },
  {
    key: 'bulwark-layered',
    name: 'bulwark, the same parts one app.use() each',
    app: 'bench/apps/bulwark.ts',
    export: 'createLayeredApp',
    env: bulwark,
  },
  {
    key: 'hand-traffic',
    name: 'helmet + cors + express-rate-limit by hand',
    app: 'bench/apps/hand.ts',
    export: 'createTrafficApp',
  },
  {
    key: 'bulwark-traffic',
    name: 'bulwark headers + CORS + hosts + rate limit in hardened()',
    app: 'bench/apps/bulwark.ts',
    export: 'createTrafficPresetApp',
    env: bulwark,
  },
];
const only = process.env.BENCH_ONLY?.split(',').map((key) => key.trim());
for (const key of only ?? []) {
  if (!ALL.some((c) => c.key === key)) {
    throw new Error(`BENCH_ONLY: no configuration ${key} (${ALL.map((c) => c.key).join(', ')})`);
  }
}
const configurations = ALL.filter((c) => only === undefined || only.includes(c.key));

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
against('bulwark', 'hand', 'bulwark full stack / KeyObject hand stack (target >= 1.0x, goal 1.2x)');
against('bulwark', 'bare', 'bulwark full stack / bare Express (target >= 0.65x, goal 0.75x)');
against(
  'bulwark-traffic',
  'bare',
  'bulwark traffic part / bare Express (target >= 0.85x, goal 0.90x)',
);
against('hand-traffic', 'bare', 'hand traffic part / bare Express');
