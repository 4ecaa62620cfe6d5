//! The sockets: the DogStatsD UDP listener and the trace agent's HTTP front. What the bytes
//! mean belongs to `crate::dogstatsd` and `crate::trace`.

pub mod dogstatsd;
pub mod trace_agent;

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// The address to bind `host:port` to: an IP literal as is, a name through the resolver,
/// IPv4 first (as Node's `udp4` sockets and default lookups do).
pub fn resolve_bind_address(host: &str, port: u16) -> std::io::Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let addresses: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    addresses
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addresses.first())
        .copied()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host} does not resolve")))
}
