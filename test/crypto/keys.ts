import { createHash } from 'node:crypto';

/** A well-formed but obviously fake 256-bit key, stable per label. */
export function fakeKey(label: string): string {
  return createHash('sha256').update(`FAKE test key ${label}`).digest('hex');
}
