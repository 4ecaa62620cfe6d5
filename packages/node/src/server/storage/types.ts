/**
 * What the server needs from a storage, and what `telemetry-kit apps` needs: two interfaces,
 * because the app registry must be usable while a server holds the event store open.
 */
import type { AppCredentials } from '../credentials.js';
import type { EventRow } from '../event-row.js';
import type { AppSummary } from '../summary.js';

export type StorageKind = 'embedded' | 'postgres';

/** An app as listed: never its token or secret. */
export interface AppRecord {
  orgId: string;
  appId: string;
  name: string;
  /** ms since the epoch. */
  createdAt: number;
  revokedAt: number | null;
}

/** An app found by its token, with the secret that verifies its signatures. */
export interface AppAuth extends AppRecord {
  secret: string;
}

export interface AppRegistry {
  /** Creates an app in `orgId` (default: the storage's own org, created on first use). */
  addApp(name: string, options?: { orgId?: string }): Promise<{ app: AppRecord; credentials: AppCredentials }>;
  listApps(): Promise<AppRecord[]>;
  /** Revokes the app's token; null when no such app. Revoking twice keeps the first time. */
  revokeApp(appId: string): Promise<AppRecord | null>;
  /** The app whose token this is (revoked or not), or null. */
  findByToken(token: string): Promise<AppAuth | null>;
  close(): Promise<void>;
}

/** One verified request's events, already validated and reduced to rows. */
export interface IngestBatch {
  orgId: string;
  appId: string;
  nonce: string;
  /** Until when the nonce must be remembered (ms). */
  nonceExpiresAt: number;
  receivedAt: number;
  /** Distinct event ids within the batch. */
  rows: EventRow[];
}

export interface StoreResult {
  accepted: number;
  duplicates: number;
}

export interface EventQuery {
  limit: number;
  type?: string;
}

export interface IngestStorage {
  readonly kind: StorageKind;
  readonly apps: AppRegistry;
  /** Records a nonce until `expiresAtMs`; false when it was seen and has not expired. */
  claimNonce(nonce: string, nowMs: number, expiresAtMs: number): Promise<boolean>;
  /**
   * Stores the rows whose event_id is new and counts the others as duplicates. Resolves only
   * once the new rows (and the nonce) are durable.
   */
  storeBatch(batch: IngestBatch): Promise<StoreResult>;
  /** The app's stored events, most recently received first. */
  listEvents(appId: string, query: EventQuery): Promise<unknown[]>;
  summary(appId: string): Promise<AppSummary>;
  /** Throws when the storage cannot serve requests. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
