//! `tenantlink cert export-public`

use super::output::{Visibility, ensure_writable, write_atomically};
use super::password::PasswordSource;
use super::{library_error, read_input};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tenantlink_clock::{Clock, SystemClock};

#[derive(Debug, Args)]
pub struct ExportPublicArgs {
    /// The PFX (.pfx/.p12), PEM or DER file holding the certificate.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Where to write the public certificate (DER unless --pem).
    #[arg(long, value_name = "FILE.cer")]
    out: PathBuf,
    /// Write PEM ("-----BEGIN CERTIFICATE-----") instead of DER.
    #[arg(long)]
    pem: bool,
    /// Replace the output file if it already exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    password: PasswordSource,
}

pub fn run(args: ExportPublicArgs) -> anyhow::Result<ExitCode> {
    ensure_writable(&args.out, args.force)?;
    let password = args.password.read()?;
    let bytes = read_input(&args.file)?;
    let inspection = tenantlink_certificate::inspect(&bytes, password.as_ref(), SystemClock.now());
    // Only a certificate `cert inspect` accepts is worth uploading to Entra ID.
    if let Some(problem) = inspection.problems.first() {
        return Err(library_error(problem.clone()));
    }
    let Some(certificate) = &inspection.certificate else {
        return Err(super::kinded(
            "no_certificate",
            format!("{} contains no certificate", args.file.display()),
        ));
    };
    let contents = if args.pem {
        certificate.to_pem().into_bytes()
    } else {
        certificate.der().to_vec()
    };
    write_atomically(&args.out, &contents, Visibility::Public, args.force)?;
    println!(
        "wrote {} ({}, sha1_thumbprint {})",
        args.out.display(),
        if args.pem { "PEM" } else { "DER" },
        certificate.thumbprints().sha1_hex()
    );
    Ok(ExitCode::SUCCESS)
}
