//! `tenantlink entra …`: talk to Entra ID and Microsoft Graph as an administrator or support
//! engineer would: a device sign-in, an app-only token with a certificate, the app registration's
//! certificate credentials. Secrets (tokens, keys, passwords) are never printed.

mod common;
mod device_login;
mod keys;
mod pem;
mod token;

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum EntraCommand {
    /// Sign in with the device code flow: prints the sign-in message, waits, prints who signed in.
    DeviceLogin(device_login::DeviceLoginArgs),
    /// Get an app-only Graph token with a certificate (PFX, or PEM certificate + key) and print
    /// its expiry and roles.
    ///
    /// Exit status 0 when Entra issued a token; 1 with Entra's error, what it means and what to
    /// do otherwise.
    Token(token::TokenArgs),
    /// Sign in with the device code flow and list the app registration's certificate
    /// credentials (thumbprint computed from the certificate, start, end, display name, key id).
    Keys(keys::KeysArgs),
}

pub fn run(cmd: EntraCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cmd {
            EntraCommand::DeviceLogin(args) => device_login::run(args).await,
            EntraCommand::Token(args) => token::run(args).await,
            EntraCommand::Keys(args) => keys::run(args).await,
        }
    })
}
