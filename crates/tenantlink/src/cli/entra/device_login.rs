use clap::Args;
use std::process::ExitCode;

use super::common::TargetArgs;

#[derive(Debug, Args)]
pub struct DeviceLoginArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Application (client) id that signs the administrator in (a public client).
    #[arg(long)]
    pub client_id: String,
    /// Delegated scope to request; repeatable. `openid profile` are always added.
    #[arg(long = "scope", value_name = "S")]
    pub scopes: Vec<String>,
}

pub async fn run(args: DeviceLoginArgs) -> anyhow::Result<ExitCode> {
    let context = args.target.context()?;
    let signed_in = context
        .device_sign_in(&args.client_id, &args.scopes)
        .await?;
    let account = &signed_in.account;
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not in the token)".into());
    println!("signed in: {}", show(&account.user_principal_name));
    println!("object id: {}", show(&account.object_id));
    println!("tenant id: {}", show(&account.tenant_id));
    if let Some(scope) = &signed_in.scope {
        println!("scopes: {scope}");
    }
    println!(
        "token expires: {}",
        super::common::rfc3339(signed_in.expires_at)
    );
    Ok(ExitCode::SUCCESS)
}
