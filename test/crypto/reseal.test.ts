import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  BulwarkError,
  createSecretBox,
  resealAll,
  type ResealItem,
} from '../../src/index.js';
import { fakeKey } from './keys.js';

const OLD = fakeKey('rotation-old');
const NEW = fakeKey('rotation-new');

interface Row {
  id: number;
  secret: string;
}

/** A toy table: `rows` is what the service reads; `update` writes only when the value is unchanged. */
class Table {
  readonly rows = new Map<number, string>();

  async *scan(): AsyncGenerator<Row> {
    for (const [id, secret] of this.rows) {
      await Promise.resolve();
      yield { id, secret };
    }
  }

  update(batch: readonly ResealItem<Row>[]): void {
    for (const { record, previous, sealed } of batch) {
      if (this.rows.get(record.id) === previous) this.rows.set(record.id, sealed);
    }
  }
}

const plaintextOf = (id: number): string => `sk-FAKE-test-${String(id)}`;
const aadOf = (row: Row): string => `provider:${String(row.id)}`;

describe('resealAll', () => {
  it('rotates 10,000 values in batches while every value keeps opening', async () => {
    const before = createSecretBox({ key: OLD });
    const table = new Table();
    for (let id = 0; id < 10_000; id++) {
      table.rows.set(id, before.seal(plaintextOf(id), { aad: `provider:${String(id)}` }));
    }
    // Step 1 of the procedure: the new key becomes current, the old one stays to open.
    const during = createSecretBox({ key: NEW, previousKeys: [OLD] });
    const batchSizes: number[] = [];
    let readsDuringRotation = 0;

    const report = await resealAll(table.scan(), during, {
      read: (row) => row.secret,
      aad: aadOf,
      batchSize: 700,
      save: async (batch) => {
        batchSizes.push(batch.length);
        // The service keeps serving between batches: old and new values both open.
        for (const id of [0, 5000, 9999]) {
          const value = table.rows.get(id)!;
          expect(during.open(value, { aad: `provider:${String(id)}` })).toBe(plaintextOf(id));
          readsDuringRotation++;
        }
        await Promise.resolve();
        table.update(batch);
      },
    });

    expect(report).toEqual({ scanned: 10_000, resealed: 10_000, alreadyCurrent: 0, failed: 0 });
    expect(Math.max(...batchSizes)).toBe(700);
    expect(batchSizes.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(readsDuringRotation).toBeGreaterThan(0);

    // Step 3: verify nothing needs resealing, then the old key can go.
    const after = createSecretBox({ key: NEW });
    for (const [id, value] of table.rows) {
      expect(during.needsReseal(value)).toBe(false);
      expect(after.open(value, { aad: `provider:${String(id)}` })).toBe(plaintextOf(id));
    }
  });

  it('leaves current values alone and saves only what changed', async () => {
    const box = createSecretBox({ key: NEW, previousKeys: [OLD] });
    const old = createSecretBox({ key: OLD });
    const rows: Row[] = [
      { id: 1, secret: box.seal('a') },
      { id: 2, secret: old.seal('b') },
      { id: 3, secret: box.seal('c') },
    ];
    const saved: ResealItem<Row>[] = [];
    const report = await resealAll(rows, box, {
      read: (row) => row.secret,
      save: (batch) => {
        saved.push(...batch);
      },
    });
    expect(report).toEqual({ scanned: 3, resealed: 1, alreadyCurrent: 2, failed: 0 });
    expect(saved.map((item) => item.record.id)).toEqual([2]);
    expect(saved[0]!.previous).toBe(rows[1]!.secret);
    expect(box.open(saved[0]!.sealed)).toBe('b');
  });

  it('stops at the first value that cannot be opened, by default', async () => {
    const box = createSecretBox({ key: NEW, previousKeys: [OLD] });
    const rows = [{ id: 1, secret: 'v1.unknown.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA' }];
    await expect(
      resealAll(rows, box, { read: (row) => row.secret, save: () => undefined }),
    ).rejects.toMatchObject({ code: 'crypto.open_failed' });
  });

  it('reports unopenable values, current or not, to onFailure and carries on', async () => {
    const box = createSecretBox({ key: NEW, previousKeys: [OLD] });
    const old = createSecretBox({ key: OLD });
    const tampered = box.seal('x').slice(0, -2) + 'AA';
    const rows: Row[] = [
      { id: 1, secret: tampered },
      { id: 2, secret: old.seal('y', { aad: 'provider:9' }) },
      { id: 3, secret: old.seal('z', { aad: 'provider:3' }) },
    ];
    const failures: [number, string][] = [];
    const report = await resealAll(rows, box, {
      read: (row) => row.secret,
      aad: aadOf,
      save: () => undefined,
      onFailure: (row, error) => failures.push([row.id, error.code]),
    });
    expect(report).toEqual({ scanned: 3, resealed: 1, alreadyCurrent: 0, failed: 2 });
    expect(failures).toEqual([
      [1, 'crypto.open_failed'],
      [2, 'crypto.open_failed'],
    ]);
  });

  it('passes errors from save through', async () => {
    const box = createSecretBox({ key: NEW, previousKeys: [OLD] });
    const rows = [{ id: 1, secret: createSecretBox({ key: OLD }).seal('a') }];
    await expect(
      resealAll(rows, box, {
        read: (row) => row.secret,
        save: () => Promise.reject(new Error('database down')),
      }),
    ).rejects.toThrow('database down');
  });

  it('stops between batches when the signal aborts', async () => {
    const box = createSecretBox({ key: NEW, previousKeys: [OLD] });
    const old = createSecretBox({ key: OLD });
    const rows = Array.from({ length: 50 }, (_, id) => ({ id, secret: old.seal('s') }));
    const controller = new AbortController();
    let saves = 0;
    await expect(
      resealAll(rows, box, {
        read: (row) => row.secret,
        batchSize: 10,
        signal: controller.signal,
        save: () => {
          saves++;
          controller.abort(new Error('operator stopped the rotation'));
        },
      }),
    ).rejects.toThrow('operator stopped the rotation');
    expect(saves).toBe(1);
  });

  const read = (): string => '';
  const save = (): void => undefined;

  it.each([
    ['no options', undefined],
    ['no read', { save }],
    ['no save', { read }],
    ['read not a function', { read: 'secret', save }],
    ['batchSize 0', { read, save, batchSize: 0 }],
    ['batchSize -1', { read, save, batchSize: -1 }],
    ['batchSize NaN', { read, save, batchSize: Number.NaN }],
    ['batchSize Infinity', { read, save, batchSize: Infinity }],
    ["batchSize '5'", { read, save, batchSize: '5' }],
    ['batchSize null', { read, save, batchSize: null }],
    ['batchSize {}', { read, save, batchSize: {} }],
    ['signal not a signal', { read, save, signal: {} }],
    ['an unknown option', { read, save, batch: 5 }],
  ])('refuses %s', async (_case, options) => {
    const box = createSecretBox({ key: NEW });
    await expect(resealAll([], box, options as never)).rejects.toThrow(BulwarkConfigError);
  });

  it.each([
    ['records not iterable', 42, createSecretBox({ key: NEW })],
    ['no box', [], {}],
  ])('refuses %s', async (_case, records, box) => {
    await expect(resealAll(records as never, box as never, { read, save })).rejects.toThrow(
      BulwarkConfigError,
    );
  });

  it('rejects with the BulwarkError class', async () => {
    const box = createSecretBox({ key: NEW });
    const error: unknown = await resealAll([{ secret: 'v9.a.b.c' }], box, {
      read: (row) => row.secret,
      save: () => undefined,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulwarkError);
  });
});
