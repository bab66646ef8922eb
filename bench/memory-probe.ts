/**
 * Loaded into the example server by bench/memory-flood.ts (`--import`, with
 * `--expose-gc`): on a `measure` message over the IPC channel it runs a full
 * collection and then V8's last-resort one (what it does under memory
 * pressure: it also shrinks the young generation and returns free pages),
 * twice with a pause between, and half a second after the second answers
 * with `process.memoryUsage()`. A full collection alone leaves the young
 * generation at whatever size the traffic grew it to, which moves resident
 * memory by tens of MB between two readings; the last-resort one alone did
 * not always collect (Node 20).
 * Nothing here runs outside the bench.
 */
type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
const gc = (globalThis as { gc?: Gc }).gc;
const collect = () => {
  gc?.();
  gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
};

// V8 returns freed pages from a background task after a collection, so resident
// memory read at once still counts them (up to 57 MB more than a moment later).
const pause = () => new Promise((resolve) => setTimeout(resolve, 500));

process.on('message', (message: unknown) => {
  if (message !== 'measure' || gc === undefined || process.send === undefined) return;
  void (async () => {
    collect();
    await pause();
    collect();
    await pause();
    process.send?.({ memory: process.memoryUsage() });
  })();
});
