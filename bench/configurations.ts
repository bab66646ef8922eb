import type { Configuration } from './harness.js';
import { distEntry } from './dist-entry.js';

/** A configuration with the key `BENCH_ONLY` selects it by. */
export interface KeyedConfiguration extends Configuration {
  readonly key: string;
}

/**
 * The request-path configurations `npm run bench` and `npm run bench:instructions`
 * compare, in table order, each also served with serverClasses(). bulwark is
 * loaded from `BULWARK_ENTRY` when given (another build, for an A/B of a
 * change), else from the built `dist/`.
 */
export function requestPathConfigurations(): readonly KeyedConfiguration[] {
  const given = process.env.BULWARK_ENTRY;
  const bulwark = given === undefined ? distEntry() : { BULWARK_ENTRY: given };
  const plain: KeyedConfiguration[] = [
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
    {
      key: 'bulwark-traffic-layered',
      name: 'bulwark headers + CORS + hosts + rate limit, one app.use() each',
      app: 'bench/apps/bulwark.ts',
      export: 'createTrafficApp',
      env: bulwark,
    },
    {
      key: 'hand-alone',
      name: 'express-rate-limit alone, by hand',
      app: 'bench/apps/hand.ts',
      export: 'createRateLimitApp',
    },
    {
      key: 'bulwark-alone',
      name: 'bulwark rateLimit() alone',
      app: 'bench/apps/rate-limit.ts',
      env: bulwark,
    },
  ];
  // Each app again, served with bulwark's serverClasses() (docs/request.md): key `<key>+classes`.
  const withClasses = plain.map((c) => ({
    ...c,
    key: `${c.key}+classes`,
    name: `${c.name}, serverClasses()`,
    env: { ...c.env, ...bulwark, BENCH_SERVER_CLASSES: '1' },
  }));
  return [...plain, ...withClasses];
}

/** The configurations `BENCH_ONLY` (comma-separated keys) names, else `defaults`. */
export function selectConfigurations(
  all: readonly KeyedConfiguration[],
  defaults: readonly string[],
): KeyedConfiguration[] {
  const keys = process.env.BENCH_ONLY?.split(',').map((key) => key.trim()) ?? defaults;
  for (const key of keys) {
    if (!all.some((c) => c.key === key)) {
      throw new Error(`BENCH_ONLY: no configuration ${key} (${all.map((c) => c.key).join(', ')})`);
    }
  }
  return all.filter((c) => keys.includes(c.key));
}

/** The configurations the targets compare, which both benches run by default. */
export const TARGET_KEYS: readonly string[] = [
  'bare',
  'hand',
  'bulwark',
  'hand-traffic',
  'bulwark-traffic',
  'bare+classes',
  'hand+classes',
  'bulwark+classes',
  'hand-traffic+classes',
  'bulwark-traffic+classes',
];

/**
 * The comparisons the targets are stated in, which both benches print:
 * `[a, b, label]`, b's cost over a's (above 1 means `a` is cheaper).
 */
export const TARGET_RATIOS: readonly (readonly [string, string, string])[] = [
  ['bulwark', 'hand', 'bulwark full stack / KeyObject hand stack (target >= 1.0x, goal 1.2x)'],
  ['bulwark', 'bare', 'bulwark full stack / bare Express (target >= 0.65x, goal 0.75x)'],
  ['bulwark-traffic', 'bare', 'bulwark traffic part / bare Express (target >= 0.85x, goal 0.90x)'],
  ['hand-traffic', 'bare', 'hand traffic part / bare Express'],
  [
    'bulwark+classes',
    'hand+classes',
    'the same, both served with serverClasses(): full stack / hand stack',
  ],
  [
    'bulwark+classes',
    'bare+classes',
    'the same, both served with serverClasses(): full stack / bare Express',
  ],
  [
    'bulwark-traffic+classes',
    'bare+classes',
    'the same, both served with serverClasses(): traffic part / bare Express',
  ],
  [
    'bulwark+classes',
    'hand',
    'bulwark served with serverClasses(), the other plain: full stack / hand stack',
  ],
  [
    'bulwark+classes',
    'bare',
    'bulwark served with serverClasses(), the other plain: full stack / bare Express',
  ],
  [
    'bulwark-traffic+classes',
    'bare',
    'bulwark served with serverClasses(), the other plain: traffic part / bare Express',
  ],
];
