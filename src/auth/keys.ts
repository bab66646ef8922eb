import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  KeyObject,
} from 'node:crypto';

/** Signature algorithms a token service can be configured with (never `none`). */
export const TOKEN_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number];

/** One entry of a key ring given as `keys`. The first entry signs; every entry verifies. */
export interface TokenKey {
  /** Key id written in the `kid` header. @default derived from a SHA-256 of the key */
  kid?: string;
  /** The one algorithm this key signs and verifies with. */
  algorithm: TokenAlgorithm;
  /** HMAC secret (HS*): at least as many bytes as the hash (32 for HS256). */
  secret?: string | Buffer;
  /** PEM, DER or KeyObject private key (RS*, PS*, ES*, EdDSA); needed on the signing key. */
  privateKey?: string | Buffer | KeyObject;
  /** Public key; derived from `privateKey` when omitted. */
  publicKey?: string | Buffer | KeyObject;
}

/** A key imported once, at creation, for one algorithm. */
export interface RingKey {
  readonly kid: string;
  readonly algorithm: TokenAlgorithm;
  readonly verifyKey: KeyObject;
  readonly signKey: KeyObject | undefined;
}

export interface KeyRing {
  readonly signer: RingKey & { readonly signKey: KeyObject };
  /** Looked up with `Map#get`, so no `kid` string (path, SQL, `__proto__`) can reach anything else. */
  readonly byKid: ReadonlyMap<string, RingKey>;
}

const KID_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;

const EC_CURVES: Partial<Record<TokenAlgorithm, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};

function hmacBytes(algorithm: TokenAlgorithm): number {
  return Number(algorithm.slice(2)) / 8;
}

/**
 * A stable id for a key, from a hash of its material, so processes that share a
 * secret agree on its `kid` without extra configuration. A SHA-256 of a secret
 * reveals nothing a signed token does not already let an attacker test offline.
 */
function derivedKid(material: Buffer): string {
  return createHash('sha256')
    .update('bulwark-kid\0')
    .update(material)
    .digest('base64url')
    .slice(0, 16);
}

function toKeyObject(
  value: string | Buffer | KeyObject,
  kind: 'private' | 'public',
): KeyObject | undefined {
  if (value instanceof KeyObject) return value.type === kind ? value : undefined;
  try {
    return kind === 'private' ? createPrivateKey(value) : createPublicKey(value);
  } catch {
    return undefined;
  }
}

function checkAsymmetric(algorithm: TokenAlgorithm, key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails;
  if (algorithm === 'EdDSA') {
    return type === 'ed25519' || type === 'ed448'
      ? undefined
      : 'EdDSA needs an Ed25519 or Ed448 key';
  }
  const curve = EC_CURVES[algorithm];
  if (curve !== undefined) {
    return type === 'ec' && details?.namedCurve === curve
      ? undefined
      : `${algorithm} needs an EC key on ${curve}`;
  }
  const rsaOk = type === 'rsa' || (algorithm.startsWith('PS') && type === 'rsa-pss');
  if (!rsaOk) return `${algorithm} needs an RSA key`;
  if ((details?.modulusLength ?? 0) < 2048)
    return `${algorithm} needs an RSA key of 2048 bits or more`;
  return undefined;
}

function secretBytes(secret: string | Buffer): Buffer {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
}

/**
 * Imports every key once as a `KeyObject` (jsonwebtoken given a string instead
 * re-parses it on every call, tens of times slower) and checks each against its
 * algorithm. Problems are collected, never thrown one by one; messages never
 * contain key material.
 */
export function buildKeyRing(
  keys: readonly TokenKey[],
  allowed: ReadonlySet<TokenAlgorithm>,
  problems: string[],
): KeyRing | undefined {
  const byKid = new Map<string, RingKey>();
  let signer: (RingKey & { signKey: KeyObject }) | undefined;
  keys.forEach((key, index) => {
    const where = index === 0 ? 'the signing key (keys[0])' : `keys[${String(index)}]`;
    const given: unknown = key;
    if (typeof given !== 'object' || given === null) {
      problems.push(`${where} must be an object`);
      return;
    }
    const { algorithm } = key;
    if (!(TOKEN_ALGORITHMS as readonly unknown[]).includes(algorithm)) {
      problems.push(`${where}: algorithm must be one of ${TOKEN_ALGORITHMS.join(', ')}`);
      return;
    }
    if (!allowed.has(algorithm)) {
      problems.push(`${where}: algorithm ${algorithm} is not in \`algorithms\``);
      return;
    }
    let verifyKey: KeyObject | undefined;
    let signKey: KeyObject | undefined;
    let material: Buffer | undefined;
    if (algorithm.startsWith('HS')) {
      const secret: unknown = key.secret;
      if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) {
        problems.push(`${where}: ${algorithm} needs a \`secret\` (string or Buffer)`);
        return;
      }
      material = secretBytes(secret);
      if (material.length < hmacBytes(algorithm)) {
        problems.push(
          `${where}: the ${algorithm} secret must be at least ${String(hmacBytes(algorithm))} bytes, got ${String(material.length)}`,
        );
        return;
      }
      verifyKey = createSecretKey(material);
      signKey = verifyKey;
    } else {
      if (key.privateKey !== undefined) {
        signKey = toKeyObject(key.privateKey, 'private');
        if (signKey === undefined) {
          problems.push(`${where}: privateKey is not a readable private key`);
          return;
        }
      }
      if (key.publicKey !== undefined) {
        verifyKey = toKeyObject(key.publicKey, 'public');
        if (verifyKey === undefined) {
          problems.push(`${where}: publicKey is not a readable public key`);
          return;
        }
      } else if (signKey !== undefined) {
        verifyKey = createPublicKey(signKey);
      }
      if (verifyKey === undefined) {
        problems.push(`${where}: ${algorithm} needs a privateKey or a publicKey`);
        return;
      }
      const mismatch = checkAsymmetric(algorithm, verifyKey);
      if (mismatch !== undefined) {
        problems.push(`${where}: ${mismatch}`);
        return;
      }
      material = verifyKey.export({ type: 'spki', format: 'der' });
    }
    const kid = key.kid ?? derivedKid(material);
    if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) {
      problems.push(`${where}: kid must be 1-128 characters of A-Z a-z 0-9 . _ ~ -`);
      return;
    }
    if (byKid.has(kid)) {
      problems.push(`${where}: kid ${kid} is used twice (the same key given twice?)`);
      return;
    }
    const ringKey: RingKey = { kid, algorithm, verifyKey, signKey };
    byKid.set(kid, ringKey);
    if (index === 0) {
      if (signKey === undefined)
        problems.push(`${where} needs a secret or privateKey to sign with`);
      else signer = { ...ringKey, signKey };
    }
  });
  if (keys.length === 0) problems.push('`keys` must list at least one key');
  return signer === undefined ? undefined : { signer, byKid };
}
