//! Entra's error answers as tests build them (feature `test-util`), so the client's tests and
//! the service's remediation tests parse the same layout.

use crate::error::EntraError;

/// An Entra error body in the layout of the reference (§0.1): `AADSTSn: text` + CRLF trailer.
pub fn error_body(error: &str, code: u64, text: &str) -> serde_json::Value {
    serde_json::json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: 6f6c4645-0202-4486-b625-fa957dfc4700\r\nCorrelation ID: 5fc87507-4086-4e77-b415-cee677eb232e\r\nTimestamp: 2026-11-27 09:00:00Z"),
        "error_codes": [code],
        "timestamp": "2026-11-27 09:00:00Z",
        "trace_id": "6f6c4645-0202-4486-b625-fa957dfc4700",
        "correlation_id": "5fc87507-4086-4e77-b415-cee677eb232e",
    })
}

/// [`error_body`] answered with HTTP `status`, parsed as the client parses it.
pub fn parse_error(status: u16, error: &str, code: u64, text: &str) -> EntraError {
    EntraError::parse(status, error_body(error, code, text).to_string().as_bytes())
        .expect("an Entra error body")
}
