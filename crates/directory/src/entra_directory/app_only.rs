//! The rotation's calls, all app-only: the token comes from a certificate of the application
//! (the active one, or the new one once it is active), never from an administrator's sign-in.
//!
//! Tokens come from `TokenClient::app_token`, whose cache is keyed by the certificate's
//! thumbprint: one rotation makes three Graph calls with the active certificate (read, addKey,
//! read back) and a fleet rotates thousands of organizations, so a token request per call would
//! triple the load on Entra's token endpoint — which throttles too — for no gain. The key makes
//! it safe: a token obtained with one certificate is never handed out for another, so after
//! activation the first call with the new certificate gets a token of its own. (`prove_app_only`
//! keeps using `fetch`: there the token request itself is the proof.)

use std::sync::Arc;

use tenantlink_certificate::{Certificate, Credential};
use tenantlink_entra::{
    AppToken, AppTokenRequest, Error as EntraClientError, GraphErrorKind, KeyCredential,
    SigningCertificate,
};
use tenantlink_service::{Application, ApplicationKey, DirectoryError, Organization};

use super::{EntraDirectory, assertion_options, service_application, tenant};
use crate::explain::{Call, explain_call};

impl EntraDirectory {
    pub(super) async fn read_application_app_only(
        &self,
        organization: &Organization,
        credential: &Credential,
    ) -> Result<Application, DirectoryError> {
        let token = self
            .app_token(organization, &signer_of(credential)?)
            .await?;
        let app = self
            .graph
            .application_by_app_id(token.access_token.expose(), &organization.app_id)
            .await
            .map_err(|e| explain_call(e, Call::AppOnly))?;
        Ok(service_application(app))
    }

    pub(super) async fn add_key_app_only(
        &self,
        organization: &Organization,
        signer: &Credential,
        certificate: &Certificate,
    ) -> Result<ApplicationKey, DirectoryError> {
        let proof_signer = signer_of(signer)?;
        let token = self.app_token(organization, &proof_signer).await?;
        let object_id = self.object_id(organization, &token).await?;
        let entry = KeyCredential::for_certificate(
            certificate.der(),
            &format!("tenantlink {}", certificate.thumbprints().sha1_hex()),
            certificate.not_before(),
            certificate.not_after(),
        );
        let added = self
            .graph
            .add_key(
                token.access_token.expose(),
                &object_id,
                &entry,
                &proof_signer,
            )
            .await
            .map_err(|e| explain_call(e, Call::KeyWrite))?;
        Ok(ApplicationKey {
            key_id: added.key_id.clone().unwrap_or_default(),
            // addKey answers without `key`; the key is the certificate just sent, so its
            // thumbprint is computed from that DER (never from customKeyIdentifier).
            sha1_thumbprint: added
                .sha1_hex()
                .unwrap_or_else(|| certificate.thumbprints().sha1_hex()),
            display_name: added.display_name.clone(),
            end: added.end().or(Some(certificate.not_after())),
        })
    }

    /// Removes `key_id`. A key the application no longer lists counts as removed: that is the
    /// outcome asked for (Graph answers `Request_ResourceNotFound` for it, the same code as for
    /// a missing application, so the application is read to tell the two apart).
    pub(super) async fn remove_key_app_only(
        &self,
        organization: &Organization,
        signer: &Credential,
        key_id: &str,
    ) -> Result<(), DirectoryError> {
        let proof_signer = signer_of(signer)?;
        let token = self.app_token(organization, &proof_signer).await?;
        let object_id = self.object_id(organization, &token).await?;
        let removed = self
            .graph
            .remove_key(
                token.access_token.expose(),
                &object_id,
                key_id,
                &proof_signer,
            )
            .await;
        match removed {
            Ok(()) => Ok(()),
            Err(EntraClientError::Graph(e)) if e.kind == GraphErrorKind::NotFound => {
                let app = self
                    .graph
                    .application_by_object_id(token.access_token.expose(), &object_id)
                    .await
                    .map_err(|e| explain_call(e, Call::AppOnly))?;
                let still_listed = app
                    .key_credentials
                    .iter()
                    .any(|k| k.key_id.as_deref() == Some(key_id));
                if still_listed {
                    Err(explain_call(EntraClientError::Graph(e), Call::KeyWrite))
                } else {
                    tracing::info!(organization = %organization.id, key_id,
                        "removeKey: the application no longer lists the key; counted as removed");
                    Ok(())
                }
            }
            Err(other) => Err(explain_call(other, Call::KeyWrite)),
        }
    }

    async fn app_token(
        &self,
        organization: &Organization,
        signer: &SigningCertificate,
    ) -> Result<Arc<AppToken>, DirectoryError> {
        let tenant = tenant(organization)?;
        self.tokens
            .app_token(
                AppTokenRequest {
                    tenant: &tenant,
                    client_id: &organization.app_id,
                    scope: &format!("{}/.default", self.graph_resource),
                    assertion: assertion_options(organization),
                },
                signer,
            )
            .await
            .map_err(|e| explain_call(e, Call::AppOnly))
    }

    /// The application's object id (the `iss` of proofs and the path of addKey/removeKey): as
    /// stored when the organization was connected, else read by its appId.
    async fn object_id(
        &self,
        organization: &Organization,
        token: &AppToken,
    ) -> Result<String, DirectoryError> {
        if let Some(id) = &organization.app_object_id {
            return Ok(id.clone());
        }
        let app = self
            .graph
            .application_by_app_id(token.access_token.expose(), &organization.app_id)
            .await
            .map_err(|e| explain_call(e, Call::AppOnly))?;
        Ok(app.id)
    }
}

/// The credential as the entra client signs with it.
pub(super) fn signer_of(credential: &Credential) -> Result<SigningCertificate, DirectoryError> {
    let certificate = credential.certificate();
    SigningCertificate::from_parts(
        certificate.der().to_vec(),
        Vec::new(),
        credential.private_key().pkcs8_der(),
        certificate.not_before(),
        certificate.not_after(),
    )
    .map_err(|e| explain_call(e.into(), Call::AppOnly))
}
