/**
 * A TLS connection to an intake through an `http://` proxy's CONNECT tunnel: what
 * DD_PROXY_HTTPS / HTTPS_PROXY mean for Datadog's agents. One tunnel per request (no pooling):
 * flushes are seconds apart, so the handshake cost does not matter.
 */
import type { Socket } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { loadHttp, loadTls } from './lazy-builtins.js';

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

export interface TunnelOptions {
  proxy: URL;
  host: string;
  port: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Extra TLS options (a private CA in tests). */
  tls?: ConnectionOptions;
}

export async function openTunnel(options: TunnelOptions): Promise<TLSSocket> {
  const [{ request }, { connect }] = await Promise.all([loadHttp(), loadTls()]);
  const { proxy, host, port } = options;
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const headers: Record<string, string> = { host: target };
  if (proxy.username) {
    const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  return new Promise((resolve, reject) => {
    const connectRequest = request({
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(proxy.port || 80),
      method: 'CONNECT',
      path: target,
      headers,
      agent: false,
      timeout: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    connectRequest.once('connect', (response, socket: Socket) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`proxy ${proxy.host} refused CONNECT ${target}: ${response.statusCode ?? 'no status'}`));
        return;
      }
      // SNI carries host names only; an IP literal there is an RFC 6066 violation Node warns about.
      const secure = connect({ ...options.tls, socket, ...(IPV4.test(host) || host.includes(':') ? {} : { servername: host }) });
      secure.once('secureConnect', () => resolve(secure));
      secure.once('error', reject);
    });
    connectRequest.once('timeout', () => connectRequest.destroy(new Error(`proxy ${proxy.host} did not answer CONNECT within ${options.timeoutMs} ms`)));
    connectRequest.once('error', reject);
    connectRequest.end();
  });
}
