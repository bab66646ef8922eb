import { setImmediate as nextTurn } from 'node:timers/promises';
import { BulwarkConfigError, isBulwarkError, type BulwarkError } from '../errors.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import type { SealOptions, SecretBox } from './secret-box.js';

/** One record resealed under the current key, ready to be written back. */
export interface ResealItem<R> {
  record: R;
  /** The value read: write conditionally on it so a concurrent update is not overwritten. */
  previous: string;
  /** The value sealed under the current key. */
  sealed: string;
}

export interface ResealAllOptions<R> {
  /** Returns the record's sealed value. */
  read: (record: R) => string;
  /** Returns the associated data the value was sealed with, if any. */
  aad?: (record: R) => SealOptions['aad'];
  /** Writes one batch back (a transaction or a bulk update); awaited before the next batch. */
  save: (batch: readonly ResealItem<R>[]) => Promise<void> | void;
  /** Records per `save` call (1–10 000). @default 500 */
  batchSize?: number;
  /**
   * Called for a value that cannot be opened (tampered, unknown key); the run
   * goes on. Without it the first such value stops the run with its error.
   */
  onFailure?: (record: R, error: BulwarkError) => void;
  /** Stops the run between batches; the returned promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface ResealReport {
  /** Records read. */
  scanned: number;
  /** Records re-encrypted under the current key and handed to `save`. */
  resealed: number;
  /** Records already under the current key, left untouched. */
  alreadyCurrent: number;
  /** Records that could not be opened (only with `onFailure`). */
  failed: number;
}

const KNOWN: KnownKeys<ResealAllOptions<unknown>> = {
  read: true,
  aad: true,
  save: true,
  batchSize: true,
  onFailure: true,
  signal: true,
};

/**
 * Re-encrypts every record under the box's current key, a batch at a time,
 * while the service keeps running: the box opens old and new keys alike, so
 * readers never notice. Only values that need it are resealed and saved.
 * See docs/secrets.md for the whole rotation procedure.
 *
 * @param records any iterable or async iterable (a database cursor, a paginated scan)
 * @param box a box whose current key is the new one and whose other keys include the old
 * @param [options.batchSize=500]
 * @example
 * const report = await resealAll(db.iterate('SELECT id, secret FROM providers'), box, {
 *   read: (row) => row.secret,
 *   aad: (row) => `provider:${row.id}`,
 *   save: (batch) => db.updateSecretsIfUnchanged(batch),
 * });
 */
export async function resealAll<R>(
  records: Iterable<R> | AsyncIterable<R>,
  box: SecretBox,
  options: ResealAllOptions<R>,
): Promise<ResealReport> {
  const check = new OptionChecker('resealAll', options, KNOWN);
  const read = check.func<(record: R) => string>('read');
  const aadOf = check.func<(record: R) => SealOptions['aad']>('aad');
  const save = check.func<(batch: readonly ResealItem<R>[]) => Promise<void> | void>('save');
  const onFailure = check.func<(record: R, error: BulwarkError) => void>('onFailure');
  const batchSize = check.number('batchSize', { min: 1, max: 10_000, integer: true, default: 500 });
  const signal = check.raw('signal');
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    check.problem('`signal` must be an AbortSignal');
  }
  const iterable: unknown = records;
  if (
    typeof iterable !== 'object' ||
    iterable === null ||
    !(Symbol.iterator in iterable || Symbol.asyncIterator in iterable)
  ) {
    check.problem('records must be an iterable or async iterable');
  }
  if (typeof box !== 'object' || typeof (box as Partial<SecretBox>).reseal !== 'function') {
    check.problem('box must come from createSecretBox()');
  }
  const required = '`read` and `save` are both required';
  if (read === undefined || save === undefined) check.problem(required);
  check.done();
  // Unreachable after `done()`; narrows the types.
  if (read === undefined || save === undefined)
    throw new BulwarkConfigError('resealAll', [required]);

  const report: ResealReport = { scanned: 0, resealed: 0, alreadyCurrent: 0, failed: 0 };
  let batch: ResealItem<R>[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length > 0) {
      const full = batch;
      batch = [];
      await save(full);
      report.resealed += full.length;
    }
    // Lets requests in between batches even when `save` answers synchronously.
    await nextTurn();
    (signal as AbortSignal | undefined)?.throwIfAborted();
  };

  (signal as AbortSignal | undefined)?.throwIfAborted();
  let sinceFlush = 0;
  for await (const record of records) {
    report.scanned++;
    const previous = read(record);
    const aad = aadOf?.(record);
    try {
      if (box.needsReseal(previous)) {
        batch.push({ record, previous, sealed: box.reseal(previous, { aad }) });
      } else {
        // Already current: still opened, so a tampered value is reported, not skipped.
        box.openBytes(previous, { aad }).fill(0);
        report.alreadyCurrent++;
      }
    } catch (error) {
      if (onFailure === undefined || !isBulwarkError(error)) throw error;
      report.failed++;
      onFailure(record, error);
    }
    if (++sinceFlush >= batchSize) {
      sinceFlush = 0;
      await flush();
    }
  }
  await flush();
  return report;
}
