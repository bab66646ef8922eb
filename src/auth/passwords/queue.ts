import os from 'node:os';
import { BulwarkError } from '../../errors.js';
import { OptionChecker, type KnownKeys } from '../../internal/options.js';

/**
 * bcryptjs runs on the main thread and yields with setImmediate after each
 * ~100 ms slice. Several operations in flight all run their slices in the
 * same check phase, so ten concurrent verifications block the event loop for
 * about a second at a time; one at a time, no block is longer than one slice.
 * The total CPU time is the same either way, since there is only one thread.
 *
 * So hashes run one at a time, and the line is bounded: past `maxPending`
 * (running plus waiting) a hash is refused at once with 503
 * `auth.overloaded` and `Retry-After`, instead of making everyone behind it
 * wait longer (8 clients looping failed logins would otherwise hold every
 * real user seconds behind them).
 */
export interface PasswordQueue {
  /** Runs `task` when its turn comes; throws `auth.overloaded` when the line is full. */
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Hashes running or waiting now. */
  readonly pending: number;
  readonly maxPending: number;
}

export interface PasswordQueueOptions {
  /**
   * Most hashes running or waiting; one more is refused with 503
   * `auth.overloaded`. @default 2 × os.availableParallelism(), at least 4
   */
  maxPending?: number;
  /** Seconds in the refusal's `Retry-After`. @default 1 */
  retryAfterSeconds?: number;
}

const KNOWN: KnownKeys<PasswordQueueOptions> = { maxPending: true, retryAfterSeconds: true };

/** The default line length: a few hashes per core, so a burst of real logins fits. */
export function defaultMaxPending(): number {
  return Math.max(4, 2 * os.availableParallelism());
}

/**
 * A bounded, one-at-a-time line for bcrypt work. `hashPassword` and the
 * verify functions share one by default; `authRouter({ passwordQueue })` and
 * their `queue` option take another.
 *
 * @param [options.maxPending=max(4, 2 × cores)]
 * @param [options.retryAfterSeconds=1]
 * @example const queue = createPasswordQueue({ maxPending: 8 });
 */
export function createPasswordQueue(options?: PasswordQueueOptions): PasswordQueue {
  const check = new OptionChecker('createPasswordQueue', options, KNOWN);
  const maxPending = check.number('maxPending', {
    min: 1,
    max: 100_000,
    integer: true,
    default: defaultMaxPending(),
  });
  const retryAfter = check.number('retryAfterSeconds', {
    min: 1,
    max: 3600,
    integer: true,
    default: 1,
  });
  check.done();

  let tail: Promise<unknown> = Promise.resolve();
  let pending = 0;
  const headers = { 'Retry-After': String(retryAfter) };

  return {
    get pending() {
      return pending;
    },
    maxPending,
    run<T>(task: () => Promise<T>): Promise<T> {
      if (pending >= maxPending) {
        return Promise.reject(
          new BulwarkError('auth.overloaded', {
            detail: 'Too many sign-ins are being checked; try again shortly.',
            headers,
          }),
        );
      }
      pending++;
      const result = tail.then(task);
      const settled = result.then(
        () => undefined,
        () => undefined,
      );
      tail = settled;
      void settled.then(() => {
        pending--;
      });
      return result;
    },
  };
}

let shared: PasswordQueue | undefined;

/** The queue the password functions use when given none. */
export function sharedPasswordQueue(): PasswordQueue {
  shared ??= createPasswordQueue();
  return shared;
}
