//! The [`Registrar`] the workflows get: like the directory, each call goes to the organization's
//! own cloud (Connect signs in and registers where the organization lives).

use crate::{CloudDirectories, EntraDirectory};
use tenantlink_service::{
    ApplicationRequest, BoxFuture, DelegatedToken, DirectoryError, GraphPermissions, Organization,
    RegisteredApp, Registrar,
};

impl CloudDirectories {
    /// `call` on the directory of `organization`'s cloud, or the refusal saying there is none.
    fn routed<'a, T: Send + 'a>(
        &'a self,
        organization: &'a Organization,
        call: impl FnOnce(&'a EntraDirectory) -> BoxFuture<'a, Result<T, DirectoryError>>,
    ) -> BoxFuture<'a, Result<T, DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => call(directory),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }
}

impl Registrar for CloudDirectories {
    fn graph_permissions<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        names: &'a [String],
    ) -> BoxFuture<'a, Result<GraphPermissions, DirectoryError>> {
        self.routed(organization, |d| {
            d.graph_permissions(organization, token, names)
        })
    }

    fn find_application<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        marker: &'a str,
        app_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<RegisteredApp>, DirectoryError>> {
        self.routed(organization, |d| {
            d.find_application(organization, token, marker, app_id)
        })
    }

    fn create_application<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        request: &'a ApplicationRequest<'a>,
    ) -> BoxFuture<'a, Result<RegisteredApp, DirectoryError>> {
        self.routed(organization, |d| {
            d.create_application(organization, token, request)
        })
    }

    fn ensure_service_principal<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        app_id: &'a str,
    ) -> BoxFuture<'a, Result<String, DirectoryError>> {
        self.routed(organization, |d| {
            d.ensure_service_principal(organization, token, app_id)
        })
    }

    fn grant_permissions<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        principal_id: &'a str,
        permissions: &'a GraphPermissions,
    ) -> BoxFuture<'a, Result<Vec<String>, DirectoryError>> {
        self.routed(organization, |d| {
            d.grant_permissions(organization, token, principal_id, permissions)
        })
    }

    fn ensure_owner<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        object_id: &'a str,
        owner_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, DirectoryError>> {
        self.routed(organization, |d| {
            d.ensure_owner(organization, token, object_id, owner_id)
        })
    }
}
