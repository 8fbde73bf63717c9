use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tenantlink_certificate::import_pkcs12;
use tenantlink_entra::{
    AppTokenRequest, AssertionOptions, AssertionProfile, SigningCertificate, TokenClient,
};
use tenantlink_secret::SecretString;
use zeroize::Zeroizing;

use super::common::{TargetArgs, explained, usage};

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Application (client) id of the app registration.
    #[arg(long)]
    pub client_id: String,
    /// The certificate with its private key, as a PFX (PKCS#12) file.
    #[arg(long, value_name = "FILE", required_unless_present = "cert_pem")]
    pub cert: Option<PathBuf>,
    /// Instead of --cert: the certificate as PEM (further certificates in the file are its chain).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "cert",
        requires = "key_pem"
    )]
    pub cert_pem: Option<PathBuf>,
    /// With --cert-pem: the unencrypted private key as PEM (PKCS#8 or PKCS#1 RSA); may be the
    /// same file as --cert-pem.
    #[arg(long, value_name = "FILE", requires = "cert_pem")]
    pub key_pem: Option<PathBuf>,
    /// Read the PFX password from FILE (one trailing newline removed).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["password_stdin", "cert_pem"]
    )]
    pub password_file: Option<PathBuf>,
    /// Read the PFX password from standard input (one trailing newline removed).
    #[arg(long, conflicts_with = "cert_pem")]
    pub password_stdin: bool,
    /// Client assertion header profile: rs256 (x5t, default) or ps256 (x5t#S256).
    #[arg(long, default_value = "rs256", value_parser = ["rs256", "ps256"])]
    pub profile: String,
    /// Send the certificate in the assertion's x5c header (subject name + issuer auth).
    #[arg(long)]
    pub x5c: bool,
}

pub async fn run(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let context = args.target.context()?;
    let now = context.clock.now();
    let credential = match (&args.cert, &args.cert_pem, &args.key_pem) {
        (_, Some(cert_pem), Some(key_pem)) => super::pem::load(cert_pem, key_pem, now)?,
        (Some(pfx), _, _) => {
            let password = read_password(&args)?;
            let bytes = std::fs::read(pfx)
                .map_err(|e| usage(format!("cannot read {}: {e}", pfx.display())))?;
            import_pkcs12(&bytes, password.as_ref(), now).map_err(|e| {
                anyhow::Error::new(crate::cli::KindedError {
                    kind: e.kind(),
                    message: format!("{}: {e}", pfx.display()),
                })
            })?
        }
        // clap requires --cert or both PEM flags.
        _ => {
            return Err(usage(
                "give --cert FILE.pfx or --cert-pem and --key-pem".into(),
            ));
        }
    };
    let certificate = credential.certificate();
    let signer = SigningCertificate::from_parts(
        certificate.der().to_vec(),
        credential
            .chain()
            .iter()
            .map(|c| c.der().to_vec())
            .collect(),
        credential.private_key().pkcs8_der(),
        certificate.not_before(),
        certificate.not_after(),
    )
    .map_err(|e| explained(e.into()))?;
    let profile = AssertionProfile::from_name(&args.profile)
        .ok_or_else(|| usage(format!("unknown profile {:?}", args.profile)))?;
    let scope = format!("{}/.default", context.graph_resource);
    let tokens = TokenClient::new(
        context.transport.clone(),
        context.endpoints.clone(),
        context.clock.clone(),
    );
    let request = AppTokenRequest {
        tenant: &context.tenant,
        client_id: &args.client_id,
        scope: &scope,
        assertion: AssertionOptions {
            profile,
            include_x5c: args.x5c,
        },
    };
    let token = tokens.fetch(request, &signer).await.map_err(explained)?;
    let roles = token.roles();
    println!("token issued for {scope}");
    println!(
        "certificate: SHA-1 {} (profile {})",
        signer.sha1_hex(),
        profile.name()
    );
    println!(
        "expires: {} (in {} min)",
        super::common::rfc3339(token.expires_at),
        (token.expires_at - now).whole_minutes()
    );
    println!(
        "roles: {}",
        if roles.is_empty() {
            "(none in the token)".to_owned()
        } else {
            roles.join(", ")
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn read_password(args: &TokenArgs) -> anyhow::Result<Option<SecretString>> {
    let mut raw = Zeroizing::new(String::new());
    if let Some(path) = &args.password_file {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_string(&mut raw))
            .map_err(|e| {
                usage(format!(
                    "cannot read the password file {}: {e}",
                    path.display()
                ))
            })?;
    } else if args.password_stdin {
        std::io::stdin()
            .read_to_string(&mut raw)
            .map_err(|e| usage(format!("cannot read the password from standard input: {e}")))?;
    } else {
        return Ok(None);
    }
    let trimmed = raw
        .strip_suffix("\r\n")
        .or_else(|| raw.strip_suffix('\n'))
        .unwrap_or(&raw);
    Ok(Some(SecretString::from(trimmed.to_owned())))
}
