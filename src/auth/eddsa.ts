import { sign, verify, type KeyObject } from 'node:crypto';

/**
 * EdDSA (RFC 8037) for the compact JWS form. jsonwebtoken 9 has no EdDSA, so
 * this covers that one algorithm's signature with node:crypto's one-shot
 * Ed25519/Ed448 calls. Everything else (header, key lookup, every claim) is
 * checked by the token verifier, the same way for every algorithm.
 */

function part(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function signEdDsa(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject,
): string {
  const input = `${part({ ...header, alg: 'EdDSA' })}.${part(payload)}`;
  return `${input}.${sign(null, Buffer.from(input, 'ascii'), key).toString('base64url')}`;
}

/** Whether the signature of a compact JWS verifies with `key`; nothing else is checked. */
export function verifyEdDsa(token: string, key: KeyObject): boolean {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  return verify(null, Buffer.from(token.slice(0, dot), 'ascii'), key, signature);
}
