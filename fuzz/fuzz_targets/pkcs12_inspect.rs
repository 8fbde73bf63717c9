//! Any bytes through the PKCS#12 / PEM / DER reader and the inspect path, with no password, the
//! empty password and a real one: the library must return a typed result, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantlink_certificate::{Password, import_pkcs12, inspect};
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    // A fixed "now" keeps runs reproducible; fixtures are valid at this date.
    let now = datetime!(2026-11-27 12:00 UTC);
    let passwords = [
        None,
        Some(Password::from("")),
        Some(Password::from("fuzz-password")),
    ];
    for password in &passwords {
        let _ = inspect(data, password.as_ref(), now);
        let _ = import_pkcs12(data, password.as_ref(), now);
    }
});
