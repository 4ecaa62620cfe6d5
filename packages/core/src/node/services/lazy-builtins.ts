/**
 * Node built-ins the services need, loaded on first use. A bundler hoists static imports of
 * built-ins to the top of its output, and loading http, https, tls, dgram and zlib costs
 * ~15 ms: paid by every program that imports the SDK, even one that never starts the services.
 */
type Http = typeof import('node:http');
type Https = typeof import('node:https');
type Tls = typeof import('node:tls');
type Dgram = typeof import('node:dgram');
type Zlib = typeof import('node:zlib');

let http: Promise<Http> | null = null;
let https: Promise<Https> | null = null;
let tls: Promise<Tls> | null = null;
let dgram: Promise<Dgram> | null = null;
let zlib: Promise<Zlib> | null = null;

export const loadHttp = (): Promise<Http> => (http ??= import('node:http'));
export const loadHttps = (): Promise<Https> => (https ??= import('node:https'));
export const loadTls = (): Promise<Tls> => (tls ??= import('node:tls'));
export const loadDgram = (): Promise<Dgram> => (dgram ??= import('node:dgram'));
export const loadZlib = (): Promise<Zlib> => (zlib ??= import('node:zlib'));
