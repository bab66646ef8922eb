// Instructions per record, counted by valgrind's callgrind: key-only redaction
// of the shared request-log record followed by JSON.stringify, against
// JSON.stringify alone. Counts do not move with the machine's load the way the
// CPU times of `npm run bench:redaction` do.
//
// Each count is the difference between two processes that do the same thing
// RECORDS and 10 x RECORDS times after the same warm-up, divided by the extra
// records: start-up, loading and the warm-up cancel out, but not exactly (two
// processes doing the same work differ by up to some 30 million instructions,
// whatever the count), hence the large difference. V8 runs predictably
// (one thread) with the heap sizing of bench/gc-flags.ts, and each count is
// taken `BENCH_SAMPLES` times (default 3); the median is reported with the
// spread, since where the collector falls still moves single counts by a few
// percent.
//
//   npm run bench:redaction:instructions
//   BULWARK_ENTRY=file:///.../index.js   another build of bulwark (an A/B of a change)
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type * as Bulwark from '../src/index.js';
import { distEntry } from './dist-entry.js';
import { GC_FLAGS } from './gc-flags.js';
import { median } from './harness.js';
import { record } from './log-record.js';

const WARMUP = 30_000;
const RECORDS = 10_000;
const MANY = 10;
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 3);
const CASES = ['JSON.stringify', 'keys only + JSON.stringify'] as const;
type Case = (typeof CASES)[number];
const run = promisify(execFile);
const entry = process.env.BULWARK_ENTRY ?? distEntry().BULWARK_ENTRY ?? '';

/** The measured process: the warm-up, then `count` records of one case. */
async function child(which: Case, count: number): Promise<void> {
  const { createRedactor } = (await import(entry)) as typeof Bulwark;
  const keysOnly = createRedactor({ categories: ['key'] });
  const one =
    which === 'JSON.stringify'
      ? (): string => JSON.stringify(record)
      : (): string => JSON.stringify(keysOnly(record));
  let length = 0;
  for (let i = 0; i < WARMUP; i++) length += one().length;
  for (let i = 0; i < count; i++) length += one().length;
  // Keeps the results in use, so no loop can be optimised away.
  if (length === 0) throw new Error('nothing was serialised');
}

/** Instructions of one whole process under callgrind. */
async function instructions(which: Case, count: number): Promise<number> {
  const { stderr } = await run(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      process.execPath,
      '--predictable',
      ...GC_FLAGS,
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      which,
      String(count),
    ],
    { env: { ...process.env, BULWARK_ENTRY: entry }, maxBuffer: 16 * 1024 * 1024 },
  );
  const collected = /Collected : (\d+)/.exec(stderr);
  if (collected === null) throw new Error(`callgrind reported no count:\n${stderr}`);
  return Number(collected[1]);
}

async function perRecord(which: Case): Promise<number[]> {
  const counts: number[] = [];
  for (let sample = 0; sample < SAMPLES; sample++) {
    // The two processes of a sample run side by side: each is single-threaded.
    const [few, many] = await Promise.all([
      instructions(which, RECORDS),
      instructions(which, MANY * RECORDS),
    ]);
    counts.push((many - few) / ((MANY - 1) * RECORDS));
    process.stderr.write('.');
  }
  return counts;
}

const [which, count] = process.argv.slice(2);
if (which !== undefined) {
  if (!(CASES as readonly string[]).includes(which)) throw new Error(`unknown case ${which}`);
  await child(which as Case, Number(count));
} else {
  console.log(
    `Node ${process.version}, callgrind, V8 --predictable ${GC_FLAGS.join(' ')}; ` +
      `${String(WARMUP)} warm-up records, then ${String(RECORDS)} against ${String(MANY * RECORDS)}, ` +
      `${String(SAMPLES)} samples; bulwark from ${entry}`,
  );
  const medians = new Map<Case, number>();
  console.log('\n| case | instructions / record (median) | samples low–high |');
  console.log('| --- | ---: | ---: |');
  for (const name of CASES) {
    const counts = await perRecord(name);
    medians.set(name, median(counts));
    const format = (n: number): string => Math.round(n).toLocaleString('en');
    console.log(
      `| ${name} | ${format(median(counts))} | ${format(Math.min(...counts))}–${format(Math.max(...counts))} |`,
    );
  }
  const baseline = medians.get('JSON.stringify') ?? NaN;
  const keys = medians.get('keys only + JSON.stringify') ?? NaN;
  console.log(
    `\nkey-only redaction + JSON.stringify: ${(baseline / keys).toFixed(2)}x JSON.stringify alone`,
  );
}
