/**
 * The DogStatsD UDP socket: binds, hands each datagram to the aggregator, closes. Parsing and
 * aggregation are core's; this file only touches the socket.
 */
import type { Socket } from 'node:dgram';
import { loadDgram } from './lazy-builtins.js';

/**
 * Asked for, not guaranteed: Linux caps SO_RCVBUF at net.core.rmem_max (often 208 KiB) without
 * an error. A larger buffer absorbs bursts while the event loop is busy flushing.
 */
const RECEIVE_BUFFER_BYTES = 32 * 1024 * 1024;

export interface DogStatsDListenerStats {
  packets: number;
  bytes: number;
  /** Socket errors after binding (logged and skipped, never fatal). */
  socketErrors: number;
  /** Datagrams whose processing threw (none expected: the parser reports bad input as counts). */
  handlerErrors: number;
  /** The receive buffer the kernel granted, in bytes. */
  receiveBufferBytes: number;
}

export interface DogStatsDListener {
  readonly port: number;
  stats(): DogStatsDListenerStats;
  /**
   * Reads what the kernel already queued for this socket, then closes it. Resolves once closed.
   */
  close(): Promise<void>;
}

export interface DogStatsDListenerOptions {
  host: string;
  port: number;
  onDatagram: (datagram: Buffer) => void;
  onSocketError?: (error: Error) => void;
}

/** Binds the socket; rejects with the bind error (its `code`, e.g. EADDRINUSE, intact). */
export async function listenDogStatsD(options: DogStatsDListenerOptions): Promise<DogStatsDListener> {
  const { createSocket } = await loadDgram();
  // An IPv6 literal always holds a ':'; host names resolve to IPv4 (127.0.0.1 for localhost).
  const socket: Socket = createSocket({ type: options.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: RECEIVE_BUFFER_BYTES });
  const counters: DogStatsDListenerStats = { packets: 0, bytes: 0, socketErrors: 0, handlerErrors: 0, receiveBufferBytes: 0 };
  let closed: Promise<void> | null = null;

  return new Promise((resolve, reject) => {
    const onBindError = (error: Error): void => {
      socket.close();
      reject(error);
    };
    socket.once('error', onBindError);
    socket.on('message', (datagram: Buffer) => {
      counters.packets += 1;
      counters.bytes += datagram.byteLength;
      try {
        options.onDatagram(datagram);
      } catch {
        // The parser never throws on bad input; should a bug make it, one datagram is lost,
        // counted, and the server keeps running.
        counters.handlerErrors += 1;
      }
    });
    socket.bind(options.port, options.host, () => {
      socket.off('error', onBindError);
      // The services never keep a program alive by themselves (see ServerlessServices).
      socket.unref();
      socket.on('error', (error: Error) => {
        counters.socketErrors += 1;
        options.onSocketError?.(error);
      });
      try {
        counters.receiveBufferBytes = socket.getRecvBufferSize();
      } catch {
        // Not every platform reports it; the figure is informational.
      }
      resolve({
        port: socket.address().port,
        stats: () => ({ ...counters }),
        close: () => {
          closed ??= drainThenClose(socket, () => counters.packets);
          return closed;
        },
      });
    });
  });
}

/**
 * libuv reads a readable socket in the poll phase, a bounded number of datagrams per turn of
 * the loop. Turning the loop until a turn brings nothing new lets datagrams that arrived before
 * stop() reach the aggregator instead of dying in the kernel buffer. Bounded, because a sender
 * that never pauses must not hold stop() forever.
 */
async function drainThenClose(socket: Socket, packets: () => number): Promise<void> {
  for (let turn = 0, quiet = 0; turn < 1_000 && quiet < 2; turn += 1) {
    const before = packets();
    await new Promise<void>((resolve) => setImmediate(resolve));
    quiet = packets() === before ? quiet + 1 : 0;
  }
  await new Promise<void>((resolve) => socket.close(() => resolve()));
}
