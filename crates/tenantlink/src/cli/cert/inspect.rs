//! `tenantlink cert inspect`

use super::password::PasswordSource;
use super::read_input;
use super::report::{Problem, Report};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tenantlink_certificate::Inspection;
use tenantlink_clock::{Clock, SystemClock};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The file to inspect: PKCS#12 (.pfx/.p12), PEM or DER certificate.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Print one JSON object (fields subject, issuer, serial, not_before, not_after, key_type,
    /// key_bits, sha1_thumbprint, sha256_thumbprint, x5t, x5t_s256, has_private_key, chain_len,
    /// problems) instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    password: PasswordSource,
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let password = args.password.read()?;
    let bytes = read_input(&args.file)?;
    let inspection = tenantlink_certificate::inspect(&bytes, password.as_ref(), SystemClock.now());
    let report = report_of(&inspection);
    if args.json {
        println!("{}", report.to_json());
    } else {
        println!("format:            {}", inspection.format.as_str());
        print!("{}", report.to_text());
    }
    // What could be read is on stdout; the verdict is the one error line and the exit status.
    match report.problems.first() {
        None => Ok(ExitCode::SUCCESS),
        Some(first) => {
            eprintln!("error: {}: {}", first.kind, first.message);
            Ok(ExitCode::FAILURE)
        }
    }
}

fn report_of(inspection: &Inspection) -> Report {
    let mut report = Report::default();
    if let Some(certificate) = &inspection.certificate {
        report.describe(certificate);
    }
    report.has_private_key = inspection.has_private_key;
    report.chain_len = inspection.chain_len;
    report.problems = inspection
        .problems
        .iter()
        .map(|problem| Problem {
            kind: problem.kind(),
            message: problem.to_string(),
        })
        .collect();
    report
}
