/** The portable SHA-256 and HMAC-SHA256, for runtimes without node:crypto. */
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import type { Sha256Hex } from './sha256.js';
import type { HmacSha256Hex } from './sync/protocol.js';

export const nobleSha256Hex: Sha256Hex = (text) => bytesToHex(sha256(utf8ToBytes(text)));

export const nobleHmacSha256Hex: HmacSha256Hex = (key, message) => bytesToHex(hmac(sha256, utf8ToBytes(key), utf8ToBytes(message)));
