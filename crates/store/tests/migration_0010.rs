//! Migration 0010 and the start-up rewrap on a database written by the previous release
//! (schema 0006): private keys sealed with the old associated data (the certificate id only)
//! still decrypt after `upgrade_key_bindings`, are rewritten to the binding that names the
//! organization and the thumbprint, and a rewrapped row moved to another organization no longer
//! decrypts.

mod harness;

use aws_lc_rs::aead::{AES_256_GCM, Aad, RandomizedNonceKey};
use aws_lc_rs::digest;
use base64::Engine as _;
use harness::{EmptyDb, RawParam};
use tenantlink_service::{CertificateId, OrganizationId};
use tenantlink_store::{BackendKind, CryptoError, MasterKey, StoreError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_old_private_keys_are_rewrapped_and_bound_to_their_organization() {
    old_private_keys_are_rewrapped_and_bound_to_their_organization(BackendKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_old_private_keys_are_rewrapped_and_bound_to_their_organization() {
    old_private_keys_are_rewrapped_and_bound_to_their_organization(BackendKind::Postgres).await;
}

/// The blob the previous release wrote: `1 || key id || nonce || ciphertext || tag`, with the
/// associated data `tenantlink-secret:` + header + `:` + certificate id. Written out here
/// rather than through the store, so the test pins the old format independently.
fn sealed_by_the_previous_release(key: &MasterKey, id: CertificateId, plaintext: &[u8]) -> Vec<u8> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key.to_base64().as_str())
        .unwrap();
    let mut header = vec![1u8];
    header.extend_from_slice(&digest::digest(&digest::SHA256, &bytes).as_ref()[..8]);
    let aad = [
        b"tenantlink-secret:".as_slice(),
        &header,
        b":",
        id.to_string().as_bytes(),
    ]
    .concat();
    let aead = RandomizedNonceKey::new(&AES_256_GCM, &bytes).unwrap();
    let mut in_out = plaintext.to_vec();
    let nonce = aead
        .seal_in_place_append_tag(Aad::from(aad), &mut in_out)
        .unwrap();
    [header.as_slice(), nonce.as_ref(), &in_out].concat()
}

async fn organization(db: &EmptyDb, tenant: &str) -> OrganizationId {
    let id = OrganizationId::new();
    db.raw_execute(
        "INSERT INTO organizations (id, tenant, cloud, app_id, app_object_id, name, connection, \
         created_at, updated_at) VALUES ($1, $2, 'sandbox', 'app-1', 'object-1', $2, 'connected', \
         1, 1)",
        &[
            RawParam::Text(id.to_string()),
            RawParam::Text(tenant.into()),
        ],
    )
    .await
    .expect("insert an organization");
    id
}

async fn certificate(
    db: &EmptyDb,
    key: &MasterKey,
    organization: OrganizationId,
    n: u8,
) -> (CertificateId, Vec<u8>) {
    let id = CertificateId::new();
    let plaintext: Vec<u8> = (0..200).map(|i: u8| i.wrapping_mul(n)).collect();
    db.raw_execute(
        "INSERT INTO certificates (id, organization_id, sha1_thumbprint, sha256_thumbprint, \
         subject, not_before, not_after, source, der, encrypted_private_key, state, created_at) \
         VALUES ($1, $2, $3, $4, 'CN=old', 1, 2, 'generated', $5, $6, 'pending', 1)",
        &[
            RawParam::Text(id.to_string()),
            RawParam::Text(organization.to_string()),
            RawParam::Text(format!("{n:040X}")),
            RawParam::Text(format!("{n:064X}")),
            RawParam::Blob(vec![0x30, 0x82, n]),
            RawParam::Blob(sealed_by_the_previous_release(key, id, &plaintext)),
        ],
    )
    .await
    .expect("insert a certificate");
    (id, plaintext)
}

async fn old_private_keys_are_rewrapped_and_bound_to_their_organization(kind: BackendKind) {
    let old = EmptyDb::new(kind).await;
    old.apply_migrations_through(6).await;
    let key = MasterKey::generate().unwrap();
    let contoso = organization(&old, "contoso.example").await;
    let fabrikam = organization(&old, "fabrikam.example").await;
    let first = certificate(&old, &key, contoso, 1).await;
    let second = certificate(&old, &key, contoso, 2).await;
    let db = old.open().await;
    let store = &db.store;

    let binding = |id: CertificateId| {
        let db = &db;
        async move {
            db.raw_value::<i64>(
                "SELECT key_binding FROM certificates WHERE id = $1",
                &id.to_string(),
            )
            .await
        }
    };
    assert_eq!(binding(first.0).await, 1, "0010 marks old rows");

    // Until the rewrap, an old row is refused rather than used with its id-only binding.
    match store.certificate_private_key(&key, first.0).await {
        Err(StoreError::Crypto(CryptoError::OutdatedBinding { certificate })) => {
            assert_eq!(certificate, first.0.to_string());
        }
        other => panic!("expected OutdatedBinding, got {other:?}"),
    }

    // The wrong master key rewraps nothing.
    assert!(matches!(
        store
            .upgrade_key_bindings(&MasterKey::generate().unwrap())
            .await,
        Err(StoreError::Crypto(CryptoError::WrongMasterKey { .. }))
    ));
    assert_eq!(binding(first.0).await, 1);

    assert_eq!(store.upgrade_key_bindings(&key).await.unwrap(), 2);
    for (id, plaintext) in [&first, &second] {
        assert_eq!(binding(*id).await, 2, "rewritten");
        let opened = store.certificate_private_key(&key, *id).await.unwrap();
        assert_eq!(opened.as_slice(), plaintext.as_slice());
    }
    assert_eq!(
        store.upgrade_key_bindings(&key).await.unwrap(),
        0,
        "a second start rewraps nothing"
    );

    // Someone with write access to the database moves a row to another organization: the key
    // no longer decrypts.
    db.raw_execute(
        "UPDATE certificates SET organization_id = $1 WHERE id = $2",
        &[
            RawParam::Text(fabrikam.to_string()),
            RawParam::Text(first.0.to_string()),
        ],
    )
    .await
    .unwrap();
    assert!(matches!(
        store.certificate_private_key(&key, first.0).await,
        Err(StoreError::Crypto(CryptoError::Tampered))
    ));

    // Nor does claiming the old binding again for a rewrapped row help.
    db.raw_execute(
        "UPDATE certificates SET key_binding = 1 WHERE id = $1",
        &[RawParam::Text(second.0.to_string())],
    )
    .await
    .unwrap();
    assert!(matches!(
        store.certificate_private_key(&key, second.0).await,
        Err(StoreError::Crypto(CryptoError::OutdatedBinding { .. }))
    ));
    assert!(matches!(
        store.upgrade_key_bindings(&key).await,
        Err(StoreError::Crypto(CryptoError::Tampered))
    ));
}
