/** The default data dir: the OS's per-user data location + `telemetry-kit/<service>`. */
import { join } from 'node:path';
import type { EnvVars } from '../runtime.js';

export function defaultDataDir(serviceName: string, env: EnvVars, platform: NodeJS.Platform, homeDir: string): string {
  return join(osDataDir(env, platform, homeDir), 'telemetry-kit', serviceName);
}

function osDataDir(env: EnvVars, platform: NodeJS.Platform, homeDir: string): string {
  if (platform === 'win32') return env.APPDATA || join(homeDir, 'AppData', 'Roaming');
  if (platform === 'darwin') return join(homeDir, 'Library', 'Application Support');
  // XDG: a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env.XDG_DATA_HOME;
  return xdg && xdg.startsWith('/') ? xdg : join(homeDir, '.local', 'share');
}
