import { sign, verify, type KeyObject } from 'node:crypto';

/**
 * EdDSA (RFC 8037) for the compact JWS form. jsonwebtoken 9 has no EdDSA, so
 * this covers that one algorithm with node:crypto's one-shot Ed25519/Ed448
 * calls; header checks, key lookup and every claim check are shared with the
 * jsonwebtoken path in tokens.ts. Errors use jsonwebtoken's names and messages
 * so both paths map to the same failure reasons.
 */

export class EdDsaError extends Error {
  override readonly name: 'JsonWebTokenError' | 'TokenExpiredError' | 'NotBeforeError';
  constructor(name: EdDsaError['name'], message: string) {
    super(message);
    this.name = name;
  }
}

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

export interface EdDsaVerifyOptions {
  issuer: string;
  audience: string;
  clockTolerance: number;
  clockTimestamp: number;
}

/** Verifies the signature, then `nbf`, `exp`, `iss`, `aud` as jsonwebtoken would. */
export function verifyEdDsa(
  token: string,
  key: KeyObject,
  options: EdDsaVerifyOptions,
): Record<string, unknown> {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  if (!verify(null, Buffer.from(token.slice(0, dot), 'ascii'), key, signature)) {
    throw new EdDsaError('JsonWebTokenError', 'invalid signature');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(
      Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url').toString('utf8'),
    );
  } catch {
    throw new EdDsaError('JsonWebTokenError', 'invalid token');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new EdDsaError('JsonWebTokenError', 'invalid token');
  }
  const claims = payload as Record<string, unknown>;
  const { clockTimestamp: now, clockTolerance: tolerance } = options;
  if (claims.nbf !== undefined) {
    if (typeof claims.nbf !== 'number')
      throw new EdDsaError('JsonWebTokenError', 'invalid nbf value');
    if (claims.nbf > now + tolerance) throw new EdDsaError('NotBeforeError', 'jwt not active');
  }
  if (claims.exp !== undefined) {
    if (typeof claims.exp !== 'number')
      throw new EdDsaError('JsonWebTokenError', 'invalid exp value');
    if (now >= claims.exp + tolerance) throw new EdDsaError('TokenExpiredError', 'jwt expired');
  }
  const audiences: unknown[] = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(options.audience)) {
    throw new EdDsaError('JsonWebTokenError', 'jwt audience invalid');
  }
  if (claims.iss !== options.issuer)
    throw new EdDsaError('JsonWebTokenError', 'jwt issuer invalid');
  return claims;
}
