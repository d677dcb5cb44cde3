import { createHash, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { SecurityConfig } from '../config.js';

/** Who is calling: the key for rate limiting and logs. Never a token itself. */
export interface Identity {
  kind: 'token' | 'jwt' | 'anonymous';
  /** `token:<hash prefix>`, `jwt:<sub>` or `anonymous:<address>`. */
  id: string;
}

export type AuthResult = { ok: true; identity: Identity } | { ok: false; message: string; unavailable?: boolean };

export type Authenticate = (authorization: string | null, address: string) => Promise<AuthResult>;

const JWT_ALGORITHMS_ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * Client authentication: static bearer tokens (compared in constant time, by hash) and JWTs from
 * the app's auth system (jose: HS256 with a shared secret, or a JWKS URL; issuer, audience and
 * expiry checked). Without credentials a request is anonymous only where that is allowed.
 */
export function createAuthenticator(security: SecurityConfig): Authenticate {
  const tokenHashes = security.tokens.map((t) => sha256(t.reveal()));
  const jwt = security.jwt;
  let verifyJwt: ((token: string) => Promise<string>) | undefined;
  if (jwt !== undefined) {
    const options = { issuer: jwt.issuer, audience: jwt.audience, clockTolerance: 5 };
    if (jwt.secret !== undefined) {
      const key = new TextEncoder().encode(jwt.secret.reveal());
      verifyJwt = async (token) => subject((await jwtVerify(token, key, { ...options, algorithms: ['HS256'] })).payload.sub);
    } else if (jwt.jwksUrl !== undefined) {
      const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(jwt.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
      verifyJwt = async (token) =>
        subject((await jwtVerify(token, keys, { ...options, algorithms: JWT_ALGORITHMS_ASYMMETRIC })).payload.sub);
    }
  }

  return async (authorization, address) => {
    const token = bearer(authorization);
    if (token === undefined) {
      if (authorization !== null) return { ok: false, message: 'The Authorization header must be "Bearer <token>"' };
      return security.allowAnonymous
        ? { ok: true, identity: { kind: 'anonymous', id: `anonymous:${address}` } }
        : { ok: false, message: 'Authentication required: send "Authorization: Bearer <token>"' };
    }
    const hash = sha256(token);
    const match = tokenHashes.findIndex((candidate) => timingSafeEqual(candidate, hash));
    if (match >= 0) return { ok: true, identity: { kind: 'token', id: `token:${hash.toString('hex').slice(0, 12)}` } };
    if (verifyJwt !== undefined && looksLikeJwt(token)) {
      try {
        return { ok: true, identity: { kind: 'jwt', id: `jwt:${await verifyJwt(token)}` } };
      } catch (error) {
        // The key set could not be fetched: the token may be fine, the gateway cannot tell now.
        if (error instanceof joseErrors.JWKSTimeout || isFetchFailure(error)) {
          return { ok: false, message: 'Tokens cannot be verified right now', unavailable: true };
        }
        return { ok: false, message: jwtFailure(error) };
      }
    }
    return { ok: false, message: 'Invalid token' };
  };
}

function bearer(header: string | null): string | undefined {
  if (header === null) return undefined;
  // The scheme is case-insensitive (RFC 9110); the token is token68.
  const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,8192})$/i.exec(header.trim());
  return match?.[1];
}

function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

function subject(sub: string | undefined): string {
  if (sub === undefined || sub === '') throw new joseErrors.JWTClaimValidationFailed('missing "sub" claim', {}, 'sub', 'missing');
  return sub.slice(0, 200);
}

/** What went wrong, in terms safe to tell the client (never the token or key material). */
function jwtFailure(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'Token expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `Token rejected: ${error.claim} claim check failed`;
  return 'Invalid token';
}

/** jose rethrows network errors of the JWKS fetch as they are (a TypeError from fetch). */
function isFetchFailure(error: unknown): boolean {
  return error instanceof TypeError || (error instanceof joseErrors.JOSEError && error.code === 'ERR_JWKS_INVALID');
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
