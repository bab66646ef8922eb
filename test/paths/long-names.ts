/**
 * Names just over the 255-byte limit in one-, two- and three-byte characters
 * (256 `a`, 128 `é`, 86 `€`), and the same characters at the limit.
 */
export const LONG_NAMES: readonly [string, string, string][] = [
  ['256 ASCII characters', 'a'.repeat(256), 'a'.repeat(255)],
  ['128 two-byte characters', 'é'.repeat(128), 'é'.repeat(127) + 'a'],
  ['86 three-byte characters', '€'.repeat(86), '€'.repeat(85)],
];
