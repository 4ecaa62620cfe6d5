// Which backend runs the services, and why: `js` always works; `native` is used once the addon
// exports ServerlessServices (issue 6), and until then falls back to js with a recorded reason.
import { ServerlessServices, TelemetryError } from '@telemetry-kit/node';
import { describe, expect, it } from 'vitest';
import { nativeBuilt } from '../helpers/backend.js';
import { fakeIntake, localConfig } from '../helpers/services-backends.js';

describe('services backend selection', () => {
  it('backend js: the pure-TS services, no fallback', () => {
    const services = new ServerlessServices({ backend: 'js' });
    expect(services.backend).toBe('js');
    expect(services.selection).toMatchObject({ backend: 'js', requested: 'js', fallbackReason: null, error: null });
  });

  it('backend native: the addon class when it has one, else js with the reason recorded', async () => {
    const services = new ServerlessServices({ backend: 'native' });
    if (services.backend === 'native') {
      expect(services.selection.fallbackReason).toBeNull();
      return;
    }
    if (nativeBuilt()) {
      // The addon loads but does not export ServerlessServices yet: js stands in, and says why.
      expect(services.selection.error).toBeNull();
      expect(services.selection.fallbackReason).toContain('ServerlessServices');
      const intake = await fakeIntake();
      await services.start(localConfig(intake));
      expect(services.stats().backend).toBe('js');
      await services.stop();
    } else {
      // No addon at all: asking for native fails loudly, as it does for the telemetry client.
      expect(services.selection.error).toBeInstanceOf(TelemetryError);
      await expect(services.start({})).rejects.toMatchObject({ code: 'BACKEND' });
    }
  });
});
