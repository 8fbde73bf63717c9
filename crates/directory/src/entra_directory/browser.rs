//! The browser sign-in through tenantlink-entra's authorization-code client: the same public
//! client and delegated scopes (by the sign-in's purpose) as the device sign-in, so one app
//! registration (with `<public URL>/oauth/callback` among its redirect URIs) serves both.

use super::{EntraDirectory, tenant};
use crate::explain::explain;
use tenantlink_entra::{AuthorizeRequest, RedeemRequest, authorize_url};
use tenantlink_service::browser_sign_in::{AuthorizeParameters, BrowserSignedIn, CodeRedemption};
use tenantlink_service::{DelegatedToken, DirectoryError, Organization};

impl EntraDirectory {
    pub(super) fn authorize_url(
        &self,
        organization: &Organization,
        request: &AuthorizeParameters,
    ) -> Result<String, DirectoryError> {
        let tenant = tenant(organization)?;
        let scopes = self.scopes(request.purpose);
        let client_id = self.sign_in_client(organization, request.purpose)?;
        Ok(authorize_url(
            &self.endpoints,
            &AuthorizeRequest {
                tenant: &tenant,
                client_id,
                redirect_uri: &request.redirect_uri,
                scopes: &scopes,
                state: request.state.expose(),
                nonce: request.nonce.expose(),
                code_challenge: &request.code_challenge,
            },
        )
        .to_string())
    }

    pub(super) async fn redeem_code(
        &self,
        organization: &Organization,
        redemption: &CodeRedemption,
    ) -> Result<BrowserSignedIn, DirectoryError> {
        let tenant = tenant(organization)?;
        let scopes = self.scopes(redemption.purpose);
        let client_id = self.sign_in_client(organization, redemption.purpose)?;
        let signed_in = self
            .auth_code
            .redeem(&RedeemRequest {
                tenant: &tenant,
                client_id,
                code: &redemption.code,
                verifier: &redemption.verifier,
                redirect_uri: &redemption.redirect_uri,
                scopes: &scopes,
            })
            .await
            .map_err(explain)?;
        Ok(BrowserSignedIn {
            token: DelegatedToken(signed_in.sign_in.access_token),
            account: signed_in.sign_in.account.user_principal_name,
            nonce: signed_in.nonce,
        })
    }
}
