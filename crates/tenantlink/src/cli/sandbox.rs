//! `tenantlink sandbox` — owned by the sandbox tenant work (issue 4).

use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SandboxArgs {}

pub fn run(_args: SandboxArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the sandbox tenant is not built yet")
}
