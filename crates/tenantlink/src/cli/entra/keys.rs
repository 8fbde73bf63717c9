use clap::Args;
use std::process::ExitCode;

use tenantlink_entra::GraphClient;

use super::common::{TargetArgs, explained};

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Application (client) id of the app registration whose keys are listed.
    #[arg(long)]
    pub app_id: String,
    /// Public client that signs the administrator in (defaults to --app-id).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Delegated scope to request; repeatable. Default: the cloud's Graph
    /// `Application.Read.All` (e.g. https://graph.microsoft.com/Application.Read.All).
    #[arg(long = "scope", value_name = "S")]
    pub scopes: Vec<String>,
}

pub async fn run(args: KeysArgs) -> anyhow::Result<ExitCode> {
    let context = args.target.context()?;
    let client_id = args.client_id.as_deref().unwrap_or(&args.app_id);
    let scopes = if args.scopes.is_empty() {
        vec![format!("{}/Application.Read.All", context.graph_resource)]
    } else {
        args.scopes.clone()
    };
    let signed_in = context.device_sign_in(client_id, &scopes).await?;
    let graph = GraphClient::new(
        context.transport.clone(),
        context.endpoints.clone(),
        context.clock.clone(),
    );
    let app = graph
        .application_by_app_id(signed_in.access_token.expose(), &args.app_id)
        .await
        .map_err(explained)?;
    println!(
        "application {} (object id {}){}",
        app.app_id,
        app.id,
        app.display_name
            .as_deref()
            .map(|n| format!(" \"{n}\""))
            .unwrap_or_default()
    );
    if app.key_credentials.is_empty() {
        println!("no certificate credentials");
    }
    for key in &app.key_credentials {
        let date = |d: Option<time::OffsetDateTime>| {
            d.map(super::common::rfc3339).unwrap_or_else(|| "?".into())
        };
        println!(
            "- thumbprint {}  start {}  end {}  name {:?}  key id {}  ({} / {})",
            key.sha1_hex()
                .unwrap_or_else(|| "(no certificate in `key`)".into()),
            date(key.start()),
            date(key.end()),
            key.display_name.as_deref().unwrap_or(""),
            key.key_id.as_deref().unwrap_or("?"),
            key.key_type.as_deref().unwrap_or("?"),
            key.usage.as_deref().unwrap_or("?"),
        );
    }
    Ok(ExitCode::SUCCESS)
}
