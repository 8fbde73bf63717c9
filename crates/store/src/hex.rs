//! Hex encoding. Hand-written because it is four lines and not worth a dependency.

use std::fmt::Write;

pub(crate) fn lower(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

pub(crate) fn upper(bytes: &[u8]) -> String {
    lower(bytes).to_ascii_uppercase()
}
