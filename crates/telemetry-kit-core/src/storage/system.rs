//! What the storage protocol asks of the operating system besides files: the wall clock in
//! Unix milliseconds (the unit of every timestamp in the data dir), random hex for file names,
//! and whether a pid is alive (the basis of the stale-lock and gone-writer rules).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (negative before it), as JS `Date.now()`.
pub(crate) fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// 8 lower-case hex digits (4 random bytes), as `randomBytes(4).toString('hex')`.
pub(crate) fn random_hex8() -> String {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        // Only uniqueness matters here (names also carry the pid, time and a counter), so a
        // missing entropy source must not fail a write: mix the clock with a process counter.
        static FALLBACK: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mixed = u64::from(nanos) ^ FALLBACK.fetch_add(0x9e37_79b9, Ordering::Relaxed);
        bytes = (mixed as u32).to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a process with this pid exists, with the TS rules (`isPidAlive` in lock-file.ts):
/// a pid that is not a positive safe integer is dead, this process is alive, EPERM counts as
/// alive, and only ESRCH means gone. A pid beyond `pid_t` cannot be asked about: Node throws a
/// non-ESRCH error for it, so it counts as alive on both sides.
pub(crate) fn is_pid_alive(pid: i64) -> bool {
    if pid <= 0 || pid >= 1i64 << 53 {
        return false;
    }
    if pid == i64::from(std::process::id()) {
        return true;
    }
    probe(pid)
}

#[cfg(unix)]
fn probe(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: signal 0 performs only the existence and permission checks; no signal is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Without a portable liveness check, other processes are assumed alive: their segments are
/// consumed but only deleted once they are seen from a platform that can tell, and their locks
/// only go stale by age.
#[cfg(not(unix))]
fn probe(_pid: i64) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_liveness_follows_the_ts_rules() {
        assert!(is_pid_alive(i64::from(std::process::id())));
        assert!(!is_pid_alive(0));
        assert!(!is_pid_alive(-5));
        assert!(!is_pid_alive(1i64 << 53));
        #[cfg(unix)]
        assert!(
            !is_pid_alive((1 << 22) + 12_345),
            "pids above 2^22 never exist on Linux"
        );
    }

    #[test]
    fn random_hex_is_eight_lower_hex_digits() {
        let hex = random_hex8();
        assert_eq!(hex.len(), 8);
        assert!(hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    }
}
