//! The start every rotation scenario shares: `tenantlink serve` with a renewal check every
//! second, a short-lived renewal policy without jitter, and an active generated certificate.

use super::rotation::{rotation_env, short_lived_policy};
use super::scenario::{Baseline, active_certificate};
use super::{ADMIN_PASSWORD, Backend, Deployment, Server, Session, log_in};

pub struct Rotating {
    pub deployment: Deployment,
    pub server: Server,
    pub admin: Session,
    pub baseline: Baseline,
}

/// `None` only for PostgreSQL skipped on purpose (see `Deployment::new`).
pub async fn rotating(backend: Backend) -> Option<Rotating> {
    let deployment = Deployment::new(backend)?;
    let mut options = deployment.options();
    options.env.extend(rotation_env());
    let server = Server::start_with(&deployment.data_dir(), options);
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");
    let organization = admin.first_organization().await;
    short_lived_policy(&admin, &organization).await;
    let baseline = active_certificate(&server, &admin).await;
    Some(Rotating {
        deployment,
        server,
        admin,
        baseline,
    })
}

/// Signs the administrator in on (re)started `server`.
pub async fn admin_of(server: &Server) -> Session {
    log_in(&server.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in")
}
