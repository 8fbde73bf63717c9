//! `tenantlink cert …`: generate, inspect and export certificate credentials, offline.
//!
//! Each subcommand parses its arguments, calls the pure `tenantlink-certificate` library and
//! renders the result; file and terminal I/O stay in this module family.

mod export_public;
mod generate;
mod inspect;
mod output;
mod password;
mod report;

use super::KindedError;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Generate a self-signed RSA certificate and its private key as a password-protected PFX.
    ///
    /// The certificate is what Entra ID accepts as an application credential: X.509 v3,
    /// SHA-256 with RSA, keyUsage digitalSignature (critical), extendedKeyUsage clientAuth,
    /// a random 16-byte serial and a start date a few minutes in the past for clock skew.
    /// The PFX uses AES-256-CBC with PBKDF2 and a SHA-256 MAC (readable by OpenSSL 3 and Windows).
    /// Without --password-file or --password-stdin it is protected by the empty password, with a
    /// warning. Prints the thumbprints to register or compare in Entra ID.
    Generate(generate::GenerateArgs),
    /// Show what a PFX (PKCS#12), PEM or DER certificate file contains and what is wrong with it.
    ///
    /// Exit status: 0 when the file is usable (a PFX imports with its key; a PEM/DER certificate
    /// is acceptable to Entra ID), 1 otherwise. What could be read is printed either way.
    Inspect(inspect::InspectArgs),
    /// Write the public certificate (no private key) as DER `.cer` or PEM, for manual upload to
    /// Entra ID (App registrations → Certificates & secrets → Upload certificate).
    ExportPublic(export_public::ExportPublicArgs),
}

pub fn run(cmd: CertCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CertCommand::Generate(args) => generate::run(args),
        CertCommand::Inspect(args) => inspect::run(args),
        CertCommand::ExportPublic(args) => export_public::run(args),
    }
}

/// A command-line error with a stable kind, printed as `error: <kind>: <message>`.
fn kinded(kind: &'static str, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(KindedError {
        kind,
        message: message.into(),
    })
}

/// The library's errors, each with a stable `kind()`.
trait Classified: std::fmt::Display {
    fn kind(&self) -> &'static str;
}

macro_rules! classified {
    ($($error:ty),*) => {$(
        impl Classified for $error {
            fn kind(&self) -> &'static str {
                <$error>::kind(self)
            }
        }
    )*};
}

classified!(
    tenantlink_certificate::ImportError,
    tenantlink_certificate::GenerateError,
    tenantlink_certificate::ExportError,
    tenantlink_certificate::CertificateError
);

fn library_error(err: impl Classified) -> anyhow::Error {
    kinded(err.kind(), err.to_string())
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    use time::format_description::well_known::Rfc3339;
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// Reads the input file, at most one byte past the library's size limit so that an oversized
/// file is reported as such without being read whole. The bytes may hold a private key.
fn read_input(path: &std::path::Path) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    use std::io::Read;
    let unreadable = |err: std::io::Error| {
        kinded(
            "input_unreadable",
            format!("cannot read {}: {err}", path.display()),
        )
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    file.take(tenantlink_certificate::MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    Ok(bytes)
}
