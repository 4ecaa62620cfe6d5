//! Anonymous identifiers (DESIGN.md §4); mirrors `packages/core/src/ids.ts`.
//!
//! The only input is the OS random source, never hardware, user or host names, so an id cannot
//! be linked back to a person or a machine.

use sha2::{Digest, Sha256};

/// Lowercase hex of `bytes`, as the TS `toHex` writes it.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// SHA-256 of the UTF-8 bytes of `text`, as lowercase hex.
pub fn sha256_hex(text: &str) -> String {
    to_hex(&Sha256::digest(text.as_bytes()))
}

/// `len` bytes from the OS random source, as lowercase hex.
///
/// # Errors
///
/// When the OS random source fails; the error carries the OS error code when there is one.
pub fn random_hex(len: usize) -> std::io::Result<String> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|error| match error.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::other(error.to_string()),
    })?;
    Ok(to_hex(&bytes))
}

fn random_hex_or_panic(len: usize) -> String {
    // An id made from anything but real randomness would be linkable; there is no fallback.
    match random_hex(len) {
        Ok(hex) => hex,
        Err(error) => panic!("the OS random source failed: {error}"),
    }
}

/// A new install id: 32 random bytes as 64 lowercase hex characters.
///
/// # Panics
///
/// When the OS random source fails, as `uuid::Uuid::new_v4` does. Use [`random_hex`]`(32)` to
/// get an error instead.
pub fn new_install_id() -> String {
    random_hex_or_panic(32)
}

/// Exactly 64 lowercase hex characters (what `install_id` must hold, after trimming).
pub fn is_valid_install_id(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `client_` + hex(SHA-256(install_id ‖ ":" ‖ service_name)): one id per service, unlinkable
/// across services.
pub fn derive_user_id(install_id: &str, service_name: &str) -> String {
    format!(
        "client_{}",
        sha256_hex(&format!("{install_id}:{service_name}"))
    )
}

/// `sess_` + 16 random bytes as 32 lowercase hex characters.
///
/// # Panics
///
/// When the OS random source fails (see [`new_install_id`]).
pub fn new_session_id() -> String {
    format!("sess_{}", random_hex_or_panic(16))
}

/// A random RFC 4122 version 4 UUID, lowercase and hyphenated.
///
/// # Panics
///
/// When the OS random source fails, as `uuid::Uuid::new_v4` does.
pub fn new_event_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn is_lower_hex(text: &str) -> bool {
        text.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    #[test]
    fn hex_and_sha256_known_answers() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn install_ids_are_64_lowercase_hex_and_validated() {
        let id = new_install_id();
        assert_eq!(id.len(), 64);
        assert!(is_lower_hex(&id));
        assert!(is_valid_install_id(&id));
        assert_ne!(id, new_install_id());
        assert!(!is_valid_install_id(&id.to_uppercase()));
        assert!(!is_valid_install_id(&format!("{id}0")));
        assert!(!is_valid_install_id(&id[1..]));
        assert!(!is_valid_install_id(&format!("{} ", &id[1..])));
        assert!(!is_valid_install_id(""));
        assert!(!is_valid_install_id(&"g".repeat(64)));
    }

    #[test]
    fn two_services_get_unlinkable_user_ids() {
        let install = new_install_id();
        let a = derive_user_id(&install, "a");
        let b = derive_user_id(&install, "b");
        assert_ne!(a, b);
        assert!(a.starts_with("client_") && a.len() == 7 + 64 && is_lower_hex(&a[7..]));
    }

    #[test]
    fn session_ids_have_32_hex_characters() {
        let id = new_session_id();
        assert!(id.starts_with("sess_"));
        assert_eq!(id.len(), 5 + 32);
        assert!(is_lower_hex(&id[5..]));
    }

    #[test]
    fn event_ids_are_rfc4122_v4() {
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let id = new_event_id();
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12],
                "{id}"
            );
            assert!(parts.iter().all(|p| is_lower_hex(p)), "{id}");
            assert!(parts[2].starts_with('4'), "{id}");
            assert!(
                matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
                "{id}"
            );
            seen.insert(id);
        }
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn random_hex_has_the_requested_length() {
        assert_eq!(random_hex(0).unwrap(), "");
        assert_eq!(random_hex(4).unwrap().len(), 8);
    }
}
