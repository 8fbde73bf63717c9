//! `tenantlink cert generate`

use super::output::{Visibility, ensure_writable, write_atomically};
use super::password::PasswordSource;
use super::{kinded, library_error};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tenantlink_certificate::{GenerateOptions, RsaKeySize};
use tenantlink_clock::{Clock, SystemClock};
use tenantlink_secret::SecretString;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Where to write the PFX (certificate + private key). Written atomically with mode 0600.
    #[arg(long, value_name = "FILE.pfx")]
    out: PathBuf,
    /// Subject of the certificate, as "CN=<name>" (only a common name is supported).
    #[arg(long, value_name = "CN=...")]
    subject: Option<String>,
    /// Validity in days from now (tenants often cap app credentials at one year; at most 3650).
    #[arg(long, value_name = "N", default_value_t = 365)]
    days: u32,
    /// RSA modulus size in bits (Entra ID accepts RSA keys of 2048 bits or more).
    #[arg(long, value_name = "2048|3072|4096", default_value_t = 2048)]
    key_size: usize,
    /// Replace FILE.pfx if it already exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    password: PasswordSource,
}

fn parse_subject(raw: &str) -> anyhow::Result<String> {
    let invalid = |message: String| kinded("invalid_subject", message);
    let common_name = raw
        .strip_prefix("CN=")
        .or_else(|| raw.strip_prefix("cn="))
        .ok_or_else(|| invalid(format!("expected \"CN=<name>\", got {raw:?}")))?
        .trim();
    // "CN=app,O=Contoso" would otherwise become a common name with a comma in it.
    if common_name
        .split(',')
        .skip(1)
        .any(|part| part.contains('='))
    {
        return Err(invalid(format!(
            "only a common name is supported, as \"CN=<name>\"; got {raw:?}"
        )));
    }
    if common_name.is_empty() {
        return Err(invalid("the common name after CN= is empty".to_owned()));
    }
    Ok(common_name.to_owned())
}

fn parse_key_size(bits: usize) -> anyhow::Result<RsaKeySize> {
    RsaKeySize::from_bits(bits).ok_or_else(|| {
        kinded(
            "invalid_key_size",
            format!("--key-size {bits} is not one of 2048, 3072, 4096 (Entra ID needs RSA of 2048 bits or more)"),
        )
    })
}

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let key_size = parse_key_size(args.key_size)?;
    let subject_cn = args.subject.as_deref().map(parse_subject).transpose()?;
    ensure_writable(&args.out, args.force)?;
    let password = match args.password.read()? {
        Some(password) => password,
        None => {
            eprintln!(
                "warning: no --password-file or --password-stdin: the private key in {} is protected only by an empty password",
                args.out.display()
            );
            SecretString::from(String::new())
        }
    };
    let mut options = GenerateOptions {
        validity_days: args.days,
        key_size,
        ..GenerateOptions::default()
    };
    if let Some(common_name) = subject_cn {
        options.subject_cn = common_name;
    }
    let now = SystemClock.now();
    let credential = tenantlink_certificate::generate(&options, now).map_err(library_error)?;
    let pfx =
        tenantlink_certificate::export_pkcs12(&credential, &password).map_err(library_error)?;
    write_atomically(&args.out, &pfx, Visibility::OwnerOnly, args.force)?;

    let certificate = credential.certificate();
    let thumbprints = certificate.thumbprints();
    println!("wrote {}", args.out.display());
    println!("subject:           {}", certificate.subject());
    println!("serial:            {}", certificate.serial_hex());
    println!(
        "not_before:        {}",
        super::rfc3339(certificate.not_before())
    );
    println!(
        "not_after:         {}",
        super::rfc3339(certificate.not_after())
    );
    println!("key:               RSA {} bits", key_size.bits());
    println!("sha1_thumbprint:   {}", thumbprints.sha1_hex());
    println!("sha256_thumbprint: {}", thumbprints.sha256_hex());
    println!("x5t:               {}", thumbprints.x5t());
    println!("x5t_s256:          {}", thumbprints.x5t_s256());
    Ok(ExitCode::SUCCESS)
}
