import { createServer } from 'node:http';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { Express } from 'express';

// Runs one bench app in its own process, so the load generator never shares its event loop.
// `serve.ts <module> [export]` loads `export` (default `createApp`) from the module.
// A `cpu` line on stdin is answered with this process's CPU time in µs, so the harness
// can charge the server's own work per request, which other load on the machine barely moves.
// A `gc` line runs a full garbage collection (the process needs --expose-gc) and is answered
// `gc done`, or `gc unavailable`.
const [modulePath, exportName = 'createApp'] = process.argv.slice(2);
if (modulePath === undefined) throw new Error('usage: serve.ts <app module> [export]');
const exports = (await import(pathToFileURL(resolve(modulePath)).href)) as Record<string, unknown>;
const factory = exports[exportName];
if (typeof factory !== 'function') throw new Error(`${modulePath} exports no ${exportName}()`);
const app = await (factory as () => Express | Promise<Express>)();
// BENCH_SERVER_CLASSES=1 serves the app as docs/request.md advises, with bulwark's serverClasses().
const server =
  process.env.BENCH_SERVER_CLASSES === '1'
    ? createServer((await import('./apps/entry.js')).bulwark.serverClasses(app), app)
    : createServer(app);
// BENCH_MAJOR_GC=1 prints `major-gc <requests served so far>` after each full collection.
if (process.env.BENCH_MAJOR_GC === '1') {
  let served = 0;
  server.on('request', () => served++);
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { detail } = entry as { detail?: { kind?: number } };
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        process.stdout.write(`major-gc ${String(served)}\n`);
      }
    }
  }).observe({ entryTypes: ['gc'] });
}
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.stdout.write(`listening ${String(address.port)}\n`);
});
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'gc') {
    const { gc } = globalThis as { gc?: () => void };
    gc?.();
    process.stdout.write(gc === undefined ? 'gc unavailable\n' : 'gc done\n');
    return;
  }
  if (line !== 'cpu') return;
  const { user, system } = process.cpuUsage();
  process.stdout.write(`cpu ${String(user + system)}\n`);
});
// The harness closes stdin when it is done; leave with it.
process.stdin.on('end', () => process.exit(0));
