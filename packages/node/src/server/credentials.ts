/**
 * App credentials: ids, bearer tokens and signing secrets. Tokens are looked up by their SHA-256
 * (the stored hash is useless to someone who reads the database); secrets are kept as they are,
 * because verifying an HMAC needs the key itself.
 */
import { createHash, randomBytes } from 'node:crypto';

/** What `apps add` hands out, once. */
export interface AppCredentials {
  orgId: string;
  appId: string;
  token: string;
  secret: string;
}

/** Lowercase hex SHA-256 of a bearer token: the only form in which tokens are stored. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newOrgId(): string {
  return `org_${randomBytes(8).toString('hex')}`;
}

export function newAppId(): string {
  return `app_${randomBytes(8).toString('hex')}`;
}

/** 192 random bits: guessing one is out of reach, and it fits an Authorization header easily. */
export function newToken(): string {
  return `tk_${randomBytes(24).toString('base64url')}`;
}

/** 256 random bits, the HMAC-SHA256 key size. */
export function newSecret(): string {
  return `tks_${randomBytes(32).toString('base64url')}`;
}

const ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

/** Org and app ids travel in URL paths: keep them to characters that need no escaping. */
export function isValidId(value: string): boolean {
  return ID_PATTERN.test(value);
}
