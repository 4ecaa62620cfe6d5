/**
 * SHA-256 of a UTF-8 string as lowercase hex. The runtime supplies it (node:crypto on Node,
 * @noble/hashes elsewhere) so that Node never pays for loading a pure-JS hash it does not need.
 */
export type Sha256Hex = (text: string) => string;

export function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
