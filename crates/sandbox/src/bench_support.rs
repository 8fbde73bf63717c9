//! Not API: the hooks `benches/registry_writes.rs` times. The tenant registry is crate-private, so
//! the bench cannot build one itself; this builds a fleet-sized registry in a state directory and
//! runs addKey-sized changes through the same `update` path Graph's handlers use.

use crate::SandboxError;
use crate::tenants::seed::new_application;
use crate::tenants::shared::SharedRegistry;
use crate::tenants::store::TenantStore;
use crate::tenants::{ParsedKey, StoredKeyCredential, Tenant, TenantRegistry, User};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use uuid::Uuid;

/// A registry of `tenants` tenants with `applications` applications each, every application
/// holding `keys` key credentials of RSA-2048-certificate size.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub tenants: usize,
    pub applications: usize,
    pub keys: usize,
}

/// Builds `shape` in `state_dir`, then times `updates` changes that each add one key to a
/// different application (round robin), as Graph's addKey does. Returns each change's duration.
pub fn time_key_additions(
    state_dir: &Path,
    shape: Shape,
    updates: usize,
) -> Result<Vec<Duration>, SandboxError> {
    let registry = fleet(shape);
    let total = shape.tenants * shape.applications;
    let mut store = TenantStore::in_state_dir(state_dir);
    let mut registry = registry;
    store.save(&mut registry)?;
    let cell = SharedRegistry::new(registry, store);
    let mut timings = Vec::with_capacity(updates);
    for n in 0..updates {
        let slot = (n * 7919) % total.max(1);
        let (t, a) = (slot / shape.applications, slot % shape.applications);
        let started = Instant::now();
        cell.update(|d| {
            Arc::make_mut(&mut d.tenants[t])
                .application_mut(a)
                .key_credentials
                .push(key_credential());
            Ok::<_, SandboxError>(())
        })?;
        timings.push(started.elapsed());
    }
    Ok(timings)
}

pub(crate) fn fleet(shape: Shape) -> TenantRegistry {
    let mut registry = TenantRegistry::default();
    for t in 0..shape.tenants {
        let domain = format!("org{t}.onmicrosoft.com");
        let user = User {
            id: Uuid::new_v4(),
            user_principal_name: format!("admin@{domain}"),
            display_name: "Administrator".to_owned(),
            // A fixed PHC-shaped string: 10,000 Argon2 hashes would dominate the set-up.
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
                .to_owned(),
            published_password: None,
            roles: Vec::new(),
        };
        let applications = (0..shape.applications)
            .map(|a| {
                let mut app = new_application(&format!("org{t} app{a}"), false, &[]);
                app.key_credentials = (0..shape.keys).map(|_| key_credential()).collect();
                app.into()
            })
            .collect();
        registry.tenants.push(
            Tenant {
                id: Uuid::new_v4(),
                domain,
                display_name: format!("Organization {t}"),
                max_certificate_lifetime_days: None,
                users: vec![user],
                applications,
                access: Default::default(),
            }
            .into(),
        );
    }
    registry
}

/// A key credential the size of an RSA-2048 certificate's (≈1,000 DER bytes, base64).
pub(crate) fn key_credential() -> StoredKeyCredential {
    use base64::Engine;
    let der = crate::secrets::random_bytes::<1000>();
    let now = OffsetDateTime::now_utc();
    StoredKeyCredential {
        key_id: Uuid::new_v4(),
        custom_key_identifier: Some("3q2+7w3q2+7w3q2+7w3q2+7w3q0=".to_owned()),
        display_name: Some("CN=tenantlink".to_owned()),
        start: now,
        end: now + time::Duration::days(365),
        key_type: "AsymmetricX509Cert".to_owned(),
        usage: "Verify".to_owned(),
        key: base64::engine::general_purpose::STANDARD.encode(der),
        attached_at: now,
        parsed: ParsedKey::default(),
    }
}
