//! `tenantlink sandbox`: run the sandbox tenant (a local Entra ID + Microsoft Graph emulator).

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tenantlink_clock::OffsetClock;
use tenantlink_sandbox::{SandboxConfig, start};

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on; port 0 picks a free port (see sandbox.json for the one chosen).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Directory for the local CA, the signing key, the directory and sandbox.json.
    #[arg(long, default_value = "sandbox-state")]
    pub state_dir: PathBuf,
    /// JSON file describing more tenants, users and applications (see docs/sandbox.md).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Serve the /_sandbox/ control API (clock, faults, scripted sign-in). Never on a shared host.
    #[arg(long)]
    pub enable_control: bool,
}

pub fn run(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let sandbox = start(SandboxConfig {
            listen: args.listen,
            state_dir: args.state_dir.clone(),
            config_file: args.config,
            enable_control: args.enable_control,
            control_secret: None,
            clock: Arc::new(OffsetClock::system()),
        })
        .await
        .map_err(|err| super::KindedError {
            kind: "sandbox",
            message: err.to_string(),
        })?;
        let info = sandbox.info();
        // stdout carries the facts scripts need; the same JSON is in sandbox.json.
        println!("sandbox tenant listening at {}", info.authority);
        println!("  tenant       {} ({})", info.tenant_domain, info.tenant_id);
        println!("  authority    {}/{}", info.authority, info.tenant_id);
        println!("  graph        {}", info.graph_base);
        println!("  CA file      {}", info.ca_file.display());
        println!("  sign-in page {}/devicelogin", info.authority);
        if let Some(control) = &info.control_base {
            println!("  control API  {control}");
        }
        println!(
            "  details      {} (users and passwords)",
            args.state_dir.join("sandbox.json").display()
        );
        tokio::select! {
            result = sandbox.wait() => result?,
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}
