//! What makes an input the same input on a rerun.

use serde::{Deserialize, Serialize};

/// What makes an input the same input on a rerun: where it is, its size and
/// content hash, and what was asked of it (API, language, format).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The input's path: its [`path_key`], which tells apart every two
    /// paths, even two that differ only in bytes that are not UTF-8.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, in hex.
    pub sha256: String,
    /// What was asked of it, such as `legacy:hi-IN:md`.
    pub request: String,
}

impl Identity {
    /// An input's identity.
    #[must_use]
    pub fn new(
        path: impl Into<String>,
        size: u64,
        sha256: impl Into<String>,
        request: impl Into<String>,
    ) -> Self {
        Identity {
            path: path.into(),
            size,
            sha256: sha256.into(),
            request: request.into(),
        }
    }

    /// Whether `other` is the same document asked for the same thing.
    #[must_use]
    pub fn same_work(&self, other: &Identity) -> bool {
        self.size == other.size && self.sha256 == other.sha256 && self.request == other.request
    }
}

/// The journal's key for a path, from its bytes (on Unix, the path's own
/// bytes): a path that is UTF-8 is its own key, as journals have always
/// written it; in any other, each byte that is not part of a UTF-8
/// character becomes a NUL and its two hex digits (`\xff` becomes
/// `"\u{0}ff"`). No path holds a NUL, so no two paths share a key, and a
/// key gives back its bytes ([`path_bytes`]). Keys are for telling inputs
/// apart; show a path with its lossy display.
///
/// ```
/// use sarvam_doc_core::journal::{path_bytes, path_key};
/// assert_eq!(path_key(b"/in/scan.pdf"), "/in/scan.pdf");
/// assert_eq!(path_key(b"/in/\xff/scan.pdf"), "/in/\u{0}ff/scan.pdf");
/// assert_ne!(path_key(b"/in/\xff/scan.pdf"), path_key(b"/in/\xfe/scan.pdf"));
/// assert_eq!(path_bytes("/in/\u{0}ff/scan.pdf"), b"/in/\xff/scan.pdf");
/// ```
#[must_use]
pub fn path_key(bytes: &[u8]) -> String {
    let mut key = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        key.push_str(chunk.valid());
        for byte in chunk.invalid() {
            key.push('\0');
            key.push_str(&format!("{byte:02x}"));
        }
    }
    key
}

/// The bytes of the path whose [`path_key`] is `key`: a NUL and two hex
/// digits are one byte, anything else is itself.
#[must_use]
pub fn path_bytes(key: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(key.len());
    let mut rest = key;
    while let Some((before, after)) = rest.split_once('\0') {
        bytes.extend_from_slice(before.as_bytes());
        let hex = after
            .get(..2)
            .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()));
        match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
            Some(byte) => {
                bytes.push(byte);
                rest = &after[2..];
            }
            None => {
                // Not a key this function made; keep the NUL as it is.
                bytes.push(0);
                rest = after;
            }
        }
    }
    bytes.extend_from_slice(rest.as_bytes());
    bytes
}
