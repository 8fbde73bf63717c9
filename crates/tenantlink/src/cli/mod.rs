//! Command-line surface. `main` parses, this module dispatches; each family owns a file.

pub mod admin;
pub mod cert;
pub mod entra;
pub mod sandbox;
pub mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "tenantlink",
    version,
    about = "Keeps a Microsoft 365 backup service signed in to its customers' organizations"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate, inspect and export certificate credentials (works offline).
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// Talk to Microsoft Entra ID and Graph: device sign-in, app-only tokens, app keys.
    #[command(subcommand)]
    Entra(entra::EntraCommand),
    /// Run the sandbox tenant: a local Entra ID + Microsoft Graph emulator.
    Sandbox(sandbox::SandboxArgs),
    /// Run the service: the portal and the REST API (with the sandbox tenant by default).
    Serve(serve::ServeArgs),
    /// Maintain an installation while the service is stopped (master key rotation).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Cert(cmd) => cert::run(cmd),
        Command::Entra(cmd) => entra::run(cmd),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Admin(cmd) => admin::run(cmd),
    }
}

/// Logs go to stderr so that stdout stays machine-readable (`--json`).
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("TENANTLINK_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Errors print as `<kind>: <message>`; families attach their stable kind through
/// [`KindedError`], anything else is reported as `internal`.
pub fn render_error(err: &anyhow::Error) -> String {
    if let Some(kinded) = err.downcast_ref::<KindedError>() {
        return format!("{}: {}", kinded.kind, kinded.message);
    }
    format!("internal: {err:#}")
}

/// An error already classified for the command line: a stable machine kind and a human message.
#[derive(Debug)]
pub struct KindedError {
    pub kind: &'static str,
    pub message: String,
}

impl std::fmt::Display for KindedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for KindedError {}
