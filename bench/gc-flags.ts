/**
 * Heap sizing that does not follow wall time, which under valgrind runs tens of
 * times slower: left to it, heap growth and memory-reducer collections swung
 * single samples of one build by up to 60%. The young generation is fixed at
 * 16 MB a semi-space, Node 20's default ceiling on 64-bit, so a scavenge falls
 * every few hundred requests as in a server under load. V8's
 * `--predictable-gc-schedule`, used before, fixes it at a few MB instead: a
 * scavenge every ~50 requests, and in about two processes of five (the same
 * app, the same requests) a state that promoted some 18 KB a request to the old
 * generation, so that major collections ran through the samples (a third of
 * the count) or through none. With these flags six processes of the same app
 * ran alike (bench/README.md).
 */
export const GC_FLAGS: readonly string[] = [
  '--min-semi-space-size=16',
  '--max-semi-space-size=16',
  '--heap-growing-percent=30',
  '--no-memory-reducer',
];
