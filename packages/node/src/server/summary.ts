/**
 * The dashboard summary of one app's events, assembled the same way from either storage.
 * Percentiles are nearest-rank (the smallest value with at least p of the values at or below
 * it), which PostgreSQL computes as percentile_disc: both storages give the same numbers.
 */

export interface AppSummary {
  app_id: string;
  total_events: number;
  /** Earliest and latest event timestamps (the events' own clocks), null without events. */
  first_event_at: string | null;
  last_event_at: string | null;
  by_type: Record<string, number>;
  by_command: Record<string, number>;
  by_service_version: Record<string, number>;
  by_os: Record<string, number>;
  /** command_execution events that report `success`. */
  commands: { total: number; succeeded: number; failed: number; success_rate: number | null };
  /** `duration_ms` of command_execution events. */
  duration_ms: { count: number; p50: number | null; p90: number | null; p99: number | null };
}

export const SUMMARY_PERCENTILES = [0.5, 0.9, 0.99] as const;

/** Group counts as a plain object, largest first (JSON keeps that order for non-numeric keys). */
export function countsObject(rows: ReadonlyArray<readonly [string, number]>): Record<string, number> {
  const sorted = [...rows].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Record<string, number> = {};
  for (const [key, count] of sorted) out[key] = count;
  return out;
}

/** Nearest-rank percentile of an ascending array; null when empty. */
export function nearestRank(sortedAscending: readonly number[], p: number): number | null {
  const n = sortedAscending.length;
  if (n === 0) return null;
  const rank = Math.min(n, Math.max(1, Math.ceil(p * n)));
  return sortedAscending[rank - 1] ?? null;
}

export function successBlock(succeeded: number, failed: number): AppSummary['commands'] {
  const total = succeeded + failed;
  return { total, succeeded, failed, success_rate: total === 0 ? null : succeeded / total };
}
