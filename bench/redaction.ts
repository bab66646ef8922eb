/**
 * Redaction throughput, every configuration measured in the same run,
 * alternating, so machine load hits them alike:
 *   - a realistic 2 KB request-log record: plain JSON.stringify, bulwark (keys
 *     only, and every category), fast-redact and @pinojs/redact with equivalent
 *     key paths, and a naive stringify + ten regexes + parse;
 *   - 1 MB of mixed log text: bulwark with every category, the naive regex list,
 *     and three references on the same text: a bare character loop and one
 *     native regex pass (what the machine gives one core), and the floor of a
 *     one-pass scanner (every trigger calls an empty matcher);
 *   - the same text through createStreamRedactor in 16-character and 1 KB
 *     chunks, beside redactText;
 *   - the stream redactor's hold-back on an LLM-like answer in 4-character
 *     deltas: characters in before the first character out, and held after
 *     each delta;
 *   - 100 KB of each hostile input: bulwark's time per input.
 * Times are this process's CPU time, so pauses while other jobs hold the core
 * do not count. That time includes the garbage collector's threads, so the heap
 * is collected before each slice: otherwise one case pays for the garbage the
 * case before it left (the naive regex list leaves megabytes per call).
 * Run: npm run bench:redaction. It builds dist/, compiles this file to
 * .bench/redaction.js and runs that with plain node, so no loader shares the
 * measured process (in paired runs the scanner measured about 3% slower under
 * tsx's loader in the median, a cost users never run with).
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import fastRedact from 'fast-redact';
import pinoRedact from '@pinojs/redact';
import type * as Bulwark from '../src/index.js';
import { distEntry } from './dist-entry.js';
import { record } from './log-record.js';

// The built bundle, as users run it (the sources under tsx's loader read their
// imported constants through getters, which users never pay for).
const { createRedactor, createStreamRedactor } = (await import(
  distEntry().BULWARK_ENTRY ?? ''
)) as typeof Bulwark;

const require = createRequire(import.meta.url);
const version = (name: string): string =>
  (require(`${name}/package.json`) as { version: string }).version;

const ROUNDS = 15;
const SLICE_MS = 100;

/**
 * This process's CPU time in ms. Other jobs on a shared machine take the core
 * away from the bench; CPU time does not count those pauses, wall time would.
 */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

const PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.body.password',
  'res.headers["set-cookie"]',
];

// The naive approach: ten regexes over the serialised record. The email one is
// the usual backtracking form; the card one hits numbers outside strings.
const NAIVE = [
  /[\w.+-]+@[\w-]+\.[\w.-]+/g,
  /Bearer\s+[\w\-.~+/]+=*/gi,
  /eyJ[\w-]+\.[\w-]+\.[\w-]*/g,
  /\b(?:\d{1,3}\.){3}\d{1,3}\b/g,
  /\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}\b/gi,
  /sk-[A-Za-z0-9_-]{20,}/g,
  /AKIA[0-9A-Z]{16}/g,
  /gh[pousr]_[A-Za-z0-9]{30,}/g,
  /\b(?:\d[ -]?){13,19}\b/g,
  /\/\/[^\s:@/]+:[^\s@/]+@/g,
];
function naiveText(text: string): string {
  let out = text;
  for (const re of NAIVE) out = out.replace(re, '[REDACTED]');
  return out;
}
const naive = { corrupted: false };
function naiveRecord(value: unknown): string {
  const text = naiveText(JSON.stringify(value));
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    naive.corrupted = true;
    return text;
  }
}

const LINES = [
  '2024-05-01T12:34:56.789Z INFO  request completed method=GET path=/v1/users/42 status=200 duration_ms=12.5 request_id=9f1c2d3e-aaaa-bbbb-cccc-1234567890ab',
  '2024-05-01T12:34:57.001Z WARN  slow upstream call to https://api.example.com/v1/complete took 2300ms, retrying (attempt 2 of 3)',
  '2024-05-01T12:34:57.120Z ERROR login failed for ann.smith@example.com from 203.0.113.7 reason=bad_password',
  '{"level":50,"time":1714566897120,"msg":"upstream error","err":{"type":"Error","message":"connect ECONNREFUSED 10.0.0.12:5432"},"hostname":"api-7d9f"}',
  'The quick brown fox jumps over the lazy dog while the scheduler rebalances shards across nodes; nothing to see here.',
  '2024-05-01T12:34:58.000Z DEBUG cache hit key=user:42:profile ttl=300 size=1843 version=v1.2.3 commit=3f786850e387550fdab836ed7e6dc881de23001b',
  '2024-05-01T12:34:58.100Z INFO  auth ok user_id=42 scopes=read,write via Authorization: Bearer FAKEtest-0123456789abcdef',
];
let mixed = '';
for (let i = 0; mixed.length < 1 << 20; i++) mixed += `${LINES[i % LINES.length] ?? ''}\n`;
mixed = Buffer.from(mixed.slice(0, 1 << 20), 'latin1').toString('latin1');
const MB = mixed.length / (1 << 20);

const keysOnly = createRedactor({ categories: ['key'] });
const everything = createRedactor();
const fast = fastRedact({ paths: PATHS, censor: '[REDACTED]', serialize: JSON.stringify });
const pino = pinoRedact({ paths: PATHS, censor: '[REDACTED]', serialize: JSON.stringify });

const TABLE = new Uint8Array(128);
for (const c of '@:=-') TABLE[c.charCodeAt(0)] = 1;
function bareLoop(text: string): number {
  let hits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && TABLE[c] === 1) hits++;
  }
  return hits;
}

// The floor of a one-pass design: visit every character, skip words in a tight
// loop, and stop where bulwark's scanner would call a matcher (a word starting
// with a digit or with the first letters of a key prefix, and `@ : = -`), but
// call an empty one there. What the real matchers add comes on top.
const WORD_CHAR = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_') {
  WORD_CHAR[c.charCodeAt(0)] = 1;
}
const WORD_TRIGGER = new Uint8Array(128);
for (const c of '0123456789srAghxbBe') WORD_TRIGGER[c.charCodeAt(0)] = 1;
let stops = 0;
function emptyMatcher(): void {
  stops++;
}
const SYMBOLS = /[@:=]/g;
function regexPass(text: string): number {
  let hits = 0;
  SYMBOLS.lastIndex = 0;
  while (SYMBOLS.test(text)) hits++;
  return hits;
}
function dispatchFloor(text: string): number {
  stops = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 128 && WORD_CHAR[c] === 1) {
      if (WORD_TRIGGER[c] === 1) emptyMatcher();
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d >= 128 || WORD_CHAR[d] !== 1) break;
        i++;
      }
      continue;
    }
    if (c < 128 && TABLE[c] === 1) emptyMatcher();
    i++;
  }
  return stops;
}

function chunksOf(text: string, size: number): string[] {
  const chunks: string[] = [];
  for (let at = 0; at < text.length; at += size) chunks.push(text.slice(at, at + size));
  return chunks;
}
const smallChunks = chunksOf(mixed, 16);
const largeChunks = chunksOf(mixed, 1024);
function streamed(chunks: readonly string[]): number {
  const stream = createStreamRedactor();
  let length = 0;
  for (const chunk of chunks) length += stream.push(chunk).length;
  return length + stream.end().length;
}

interface Case {
  readonly name: string;
  readonly bytes: number;
  readonly run: () => unknown;
}
const recordBytes = Buffer.byteLength(JSON.stringify(record));
const recordCases: Case[] = [
  { name: 'JSON.stringify (baseline)', bytes: recordBytes, run: () => JSON.stringify(record) },
  {
    name: 'bulwark, keys only + stringify',
    bytes: recordBytes,
    run: () => JSON.stringify(keysOnly(record)),
  },
  {
    name: 'bulwark, every category + stringify',
    bytes: recordBytes,
    run: () => JSON.stringify(everything(record)),
  },
  { name: `fast-redact ${version('fast-redact')}`, bytes: recordBytes, run: () => fast(record) },
  {
    name: `@pinojs/redact ${version('@pinojs/redact')}`,
    bytes: recordBytes,
    run: () => pino(record),
  },
  {
    name: 'naive stringify + 10 regexes + parse',
    bytes: recordBytes,
    run: () => naiveRecord(record),
  },
];
const textCases: Case[] = [
  {
    name: 'bulwark redactText, every category',
    bytes: mixed.length,
    run: () => everything.text(mixed),
  },
  {
    name: 'bulwark createStreamRedactor, 16-char chunks',
    bytes: mixed.length,
    run: () => streamed(smallChunks),
  },
  {
    name: 'bulwark createStreamRedactor, 1 KB chunks',
    bytes: mixed.length,
    run: () => streamed(largeChunks),
  },
  { name: 'naive 10 regexes', bytes: mixed.length, run: () => naiveText(mixed) },
  { name: 'bare char loop (machine calibration)', bytes: mixed.length, run: () => bareLoop(mixed) },
  {
    name: 'one native regex pass finding `@ : =` only',
    bytes: mixed.length,
    run: () => regexPass(mixed),
  },
  {
    name: 'one pass, an empty matcher at each trigger (design floor)',
    bytes: mixed.length,
    run: () => dispatchFloor(mixed),
  },
];

function exposedGc(): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  return gc;
}
const gc = exposedGc();

function measure(cases: readonly Case[]): Map<string, number[]> {
  const rates = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (const c of cases) for (let i = 0; i < 20; i++) c.run();
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of round % 2 === 0 ? cases : [...cases].reverse()) {
      gc();
      let ops = 0;
      const start = cpuMs();
      let elapsed = 0;
      while (elapsed < SLICE_MS) {
        c.run();
        ops++;
        elapsed = cpuMs() - start;
      }
      rates.get(c.name)?.push((ops * 1000) / elapsed);
    }
  }
  return rates;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

function report(title: string, cases: readonly Case[], baseline: string): void {
  const rates = measure(cases);
  const base = median(rates.get(baseline) ?? []);
  console.log(`\n${title}`);
  console.log('| configuration | ops/s | MB/s | vs baseline |');
  console.log('|---|---:|---:|---:|');
  for (const c of cases) {
    const rate = median(rates.get(c.name) ?? []);
    const mbs = (rate * c.bytes) / (1 << 20);
    console.log(
      `| ${c.name} | ${rate.toFixed(rate < 100 ? 1 : 0)} | ${mbs.toFixed(1)} | ${(rate / base).toFixed(2)}x |`,
    );
  }
}

console.log(
  `Node ${process.version}, ${String(os.cpus().length)} cores (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
report(
  `2 KB record (${String(recordBytes)} bytes serialised)`,
  recordCases,
  'JSON.stringify (baseline)',
);
console.log(`naive approach produced invalid JSON: ${naive.corrupted ? 'yes' : 'no'}`);
report(`${MB.toFixed(0)} MB of mixed log text`, textCases, 'bulwark redactText, every category');
console.log(`triggers in the text (design floor): ${String(dispatchFloor(mixed))}`);

// An answer as an LLM streams it: prose, a list, a code block with a key in it.
const ANSWER = [
  'Sure. To connect the worker, set the environment variables below and restart the service.',
  '',
  '1. Set DATABASE_URL to postgres://app:FAKEpass@db.example.com:5432/app',
  '2. Set OPENAI_API_KEY=sk-FAKEtest0123456789abcdXYZFAKEtest0123456789abcdXYZ',
  '3. Point the health check at 10.0.0.12 on port 8080.',
  '',
  'If the job still fails, mail ops@example.com with the request id and the time it failed.',
  'The retry policy backs off for 2, 4 and 8 seconds before it gives up, which is usually enough.',
].join('\n');
{
  const deltas = chunksOf(ANSWER, 4);
  const stream = createStreamRedactor();
  let pushed = 0;
  let emitted = 0;
  let firstOut = -1;
  const held: number[] = [];
  const cpu: number[] = [];
  for (const delta of deltas) {
    const start = cpuMs();
    const out = stream.push(delta);
    cpu.push((cpuMs() - start) * 1000);
    pushed += delta.length;
    emitted += out.length;
    if (firstOut < 0 && out.length > 0) firstOut = pushed;
    held.push(pushed - emitted);
  }
  stream.end();
  const mean = held.reduce((a, b) => a + b, 0) / held.length;
  console.log(
    `\nstream redactor on a ${String(ANSWER.length)}-character answer in 4-character deltas: first output after ${String(firstOut)} characters in; held back after a delta: median ${String(median(held))}, mean ${mean.toFixed(1)}, max ${String(Math.max(...held))} characters; CPU per delta: median ${median(cpu).toFixed(1)} µs`,
  );
}

const HOSTILE: [string, string][] = [
  ['a@a@a@…', 'a@'],
  ['x@x.x@x.…', 'x@x.'],
  ['1.1.1.1.…', '1.'],
  ['eyJ.eyJ.…', 'eyJ.'],
  ['eyJ + base64url run', ''],
  ['base64 run', 'QUJDRA+/'],
  ['sk-a sk-a…', 'sk-a'],
  ['4 4 4 …', '4 '],
  ['http://a:b@…', 'http://a:b@'],
  ['-----BEGIN PRIVATE KEY-----…', '-----BEGIN PRIVATE KEY-----'],
  ['password=password=…', 'password='],
  ['a:a:a:…', 'a:'],
];
// The first call on an input of a new shape also pays for V8 re-optimising the
// scanner for it; the median after a few calls is the steady state of a server
// that has met the shape before. Both are shown, as CPU time (which includes the
// compiler's and the garbage collector's threads) and as wall time.
console.log('\n100 KB hostile inputs (bulwark, every category; ms)');
console.log('| input | first call, CPU | first call, wall | steady, CPU | steady, wall |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, unit] of HOSTILE) {
  const size = 100 * 1024;
  const input = unit === '' ? `eyJ${'A'.repeat(size)}` : unit.repeat(Math.ceil(size / unit.length));
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < 13; i++) {
    const startCpu = cpuMs();
    const startWall = performance.now();
    everything.text(input);
    wall.push(performance.now() - startWall);
    cpu.push(cpuMs() - startCpu);
  }
  const cells = [cpu[0] ?? 0, wall[0] ?? 0, median(cpu.slice(4)), median(wall.slice(4))];
  console.log(`| ${name} | ${cells.map((ms) => ms.toFixed(2)).join(' | ')} |`);
}

const letters = 'a'.repeat(16 * 1024);
const startNaive = cpuMs();
NAIVE[0]?.exec(letters);
console.log(
  `\nnaive email regex on 16 KB of letters without an @: ${(cpuMs() - startNaive).toFixed(0)} ms (quadratic)`,
);
