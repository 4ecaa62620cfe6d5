/**
 * Anonymous identifiers (DESIGN.md §4). Nothing here looks at hardware, user or host names:
 * the only input is random bytes, so ids cannot be linked back to a person or a machine.
 */
import { toHex, type Sha256Hex } from './sha256.js';

export type RandomBytes = (length: number) => Uint8Array;

const INSTALL_ID_PATTERN = /^[0-9a-f]{64}$/;

export function newInstallId(random: RandomBytes): string {
  return toHex(random(32));
}

export function isValidInstallId(value: string): boolean {
  return INSTALL_ID_PATTERN.test(value);
}

/** `client_` + hex(SHA-256(installId ‖ ":" ‖ serviceName)): one id per service, unlinkable across services. */
export function deriveUserId(installId: string, serviceName: string, sha256Hex: Sha256Hex): string {
  return `client_${sha256Hex(`${installId}:${serviceName}`)}`;
}

export function newSessionId(random: RandomBytes): string {
  return `sess_${toHex(random(16))}`;
}

/** RFC 4122 version 4 UUID from the given random source. */
export function uuidV4(random: RandomBytes): string {
  const bytes = random(16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
