//! `tenantlink cert …` — owned by the certificate-core work (issue 2).

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum CertCommand {}

pub fn run(cmd: CertCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
