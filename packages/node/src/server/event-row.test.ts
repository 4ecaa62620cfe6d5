import { describe, expect, it } from 'vitest';
import { eventRow } from './event-row.js';

describe('eventRow', () => {
  it('pulls out what the summary groups by, for a command', () => {
    const event = {
      event_id: 'e1',
      timestamp: '2026-01-02T03:04:05.678Z',
      service: { version: '1.4.2' },
      environment: { os: 'linux' },
      event: { type: 'command_execution', data: { command: 'deploy', success: false, duration_ms: 42 } },
    };
    expect(eventRow(event, 'org', 'app', 7)).toEqual({
      eventId: 'e1',
      orgId: 'org',
      appId: 'app',
      receivedAt: 7,
      timestamp: '2026-01-02T03:04:05.678Z',
      type: 'command_execution',
      command: 'deploy',
      serviceVersion: '1.4.2',
      os: 'linux',
      success: false,
      durationMs: 42,
      body: JSON.stringify(event),
    });
  });

  it('leaves command, success and duration empty for other types', () => {
    const row = eventRow({ event_id: 'e2', event: { type: 'feature_used', data: { feature: 'x', success: true } } }, 'org', 'app', 1);
    expect(row).toMatchObject({ type: 'feature_used', command: null, success: null, durationMs: null, serviceVersion: null, os: null });
  });
});
