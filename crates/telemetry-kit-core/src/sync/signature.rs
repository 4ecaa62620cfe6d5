//! Request signatures: lowercase hex HMAC-SHA256 (key = the secret as UTF-8) over
//! `<timestamp>:<nonce>:<body>`, the body uncompressed. Specified by test/vectors/signature.json.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The string the signature covers.
pub fn signed_string(timestamp: &str, nonce: &str, body: &str) -> String {
    format!("{timestamp}:{nonce}:{body}")
}

/// The `X-Signature` of a request. The body is fed in place: a 5 MiB batch is not copied.
///
/// # Panics
/// Never: HMAC takes keys of any length (longer ones are hashed first).
pub fn sign(secret: &str, timestamp: &str, nonce: &str, body: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(nonce.as_bytes());
    mac.update(b":");
    mac.update(body.as_bytes());
    format!("{:x}", mac.finalize().into_bytes())
}
