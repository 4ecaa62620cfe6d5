//! The DogStatsD UDP socket (packages/core/src/node/services/dogstatsd-listener.ts): binds,
//! hands each datagram to the aggregator, and on close first reads what the kernel already
//! queued, so datagrams sent before stop() are counted and flushed.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::dogstatsd::Aggregator;

/// Asked for, not guaranteed: Linux caps SO_RCVBUF at net.core.rmem_max without an error.
const RECEIVE_BUFFER_BYTES: usize = 32 * 1024 * 1024;
/// A UDP payload is at most 65,507 bytes: this never truncates one.
const DATAGRAM_BUFFER_BYTES: usize = 65_536;
/// Datagrams read per lock of the aggregator.
const BATCH: usize = 64;
/// At most this many batches are read at close: a sender that never pauses must not hold
/// stop() forever.
const MAX_DRAIN_TURNS: usize = 10_000;

#[derive(Debug, Default)]
pub struct ListenerCounters {
    pub packets: AtomicU64,
    pub bytes: AtomicU64,
    /// Socket errors after binding (skipped, never fatal).
    pub socket_errors: AtomicU64,
    /// Datagrams whose processing panicked (none expected: bad input is counted by kind); the
    /// datagram is lost, counted, and the server keeps running.
    pub handler_errors: AtomicU64,
    /// The receive buffer the kernel granted.
    pub receive_buffer_bytes: AtomicU64,
}

pub type ErrorSink = Arc<dyn Fn(&str) + Send + Sync>;

pub struct DogStatsDListener {
    pub port: u16,
    pub counters: Arc<ListenerCounters>,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Binds synchronously (so a taken port fails here, with its `ErrorKind::AddrInUse`).
pub fn bind_udp(address: SocketAddr) -> std::io::Result<(std::net::UdpSocket, u64)> {
    let socket = Socket::new(Domain::for_address(address), Type::DGRAM, Some(Protocol::UDP))?;
    // Informational: a larger buffer absorbs bursts while a flush holds the aggregator.
    let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER_BYTES);
    let granted = socket.recv_buffer_size().unwrap_or(0) as u64;
    socket.bind(&address.into())?;
    socket.set_nonblocking(true)?;
    Ok((socket.into(), granted))
}

impl DogStatsDListener {
    /// Starts reading `socket` on the current tokio runtime.
    pub fn start(
        socket: std::net::UdpSocket,
        receive_buffer_bytes: u64,
        aggregator: Arc<Mutex<Aggregator>>,
        on_error: Option<ErrorSink>,
    ) -> std::io::Result<DogStatsDListener> {
        let port = socket.local_addr()?.port();
        let socket = UdpSocket::from_std(socket)?;
        let counters = Arc::new(ListenerCounters::default());
        counters.receive_buffer_bytes.store(receive_buffer_bytes, Ordering::Relaxed);
        let stop = CancellationToken::new();
        let task = tokio::spawn(receive(socket, aggregator, Arc::clone(&counters), stop.clone(), on_error));
        Ok(DogStatsDListener { port, counters, stop, task: Some(task) })
    }

    /// Reads what is queued, then closes the socket. Resolves once closed.
    pub async fn close(&mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for DogStatsDListener {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Reads up to `limit` datagrams without waiting; false once the socket has nothing more.
fn read_batch(
    socket: &UdpSocket,
    buffer: &mut [u8],
    aggregator: &Mutex<Aggregator>,
    counters: &ListenerCounters,
    on_error: &Option<ErrorSink>,
    limit: usize,
) -> bool {
    let mut aggregator = aggregator.lock().unwrap_or_else(PoisonError::into_inner);
    let now = now_ms();
    for _ in 0..limit {
        match socket.try_recv(buffer) {
            Ok(size) => {
                counters.packets.fetch_add(1, Ordering::Relaxed);
                counters.bytes.fetch_add(size as u64, Ordering::Relaxed);
                let datagram = &buffer[..size];
                let ingest = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| aggregator.ingest(datagram, now)));
                if ingest.is_err() {
                    counters.handler_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => return false,
            Err(error) => {
                counters.socket_errors.fetch_add(1, Ordering::Relaxed);
                if let Some(on_error) = on_error {
                    on_error(&error.to_string());
                }
                return true;
            }
        }
    }
    true
}

async fn receive(socket: UdpSocket, aggregator: Arc<Mutex<Aggregator>>, counters: Arc<ListenerCounters>, stop: CancellationToken, on_error: Option<ErrorSink>) {
    let mut buffer = vec![0u8; DATAGRAM_BUFFER_BYTES];
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            ready = socket.readable() => {
                if ready.is_err() {
                    counters.socket_errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                read_batch(&socket, &mut buffer, &aggregator, &counters, &on_error, BATCH);
            }
        }
    }
    // Drain what the kernel queued before stop(): read until two quiet turns in a row.
    let mut quiet = 0;
    for _ in 0..MAX_DRAIN_TURNS {
        if quiet >= 2 {
            break;
        }
        let before = counters.packets.load(Ordering::Relaxed);
        read_batch(&socket, &mut buffer, &aggregator, &counters, &on_error, BATCH);
        if counters.packets.load(Ordering::Relaxed) == before {
            quiet += 1;
            tokio::task::yield_now().await;
        } else {
            quiet = 0;
        }
    }
}
