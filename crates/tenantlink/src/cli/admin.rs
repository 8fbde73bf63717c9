//! `tenantlink admin …`: maintenance of a tenantlink installation that the portal does not do,
//! run with the same configuration as `tenantlink serve` while the service is stopped.

mod rotate_master_key;

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Re-encrypt every stored private key under a new master key (generated, or read from
    /// --new-key-file), then replace the key file. Stop `tenantlink serve` first.
    ///
    /// The new key is written to `KEYFILE.new` before any private key uses it and the old one is
    /// kept as `KEYFILE.old-<UTC time>` until the re-encryption is committed, so an interruption
    /// loses nothing: run the command again to finish.
    RotateMasterKey(rotate_master_key::RotateArgs),
}

pub fn run(cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cmd {
            AdminCommand::RotateMasterKey(args) => rotate_master_key::run(args).await,
        }
    })
}
