//! `tenantlink entra …` — owned by the Entra/Graph client work (issue 3).

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum EntraCommand {}

pub fn run(cmd: EntraCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
