//! Microsoft Graph calls that register the backup application in a tenant, with a delegated
//! token of an administrator (field lessons §F): create the app registration (tagged with a
//! marker, so a later attempt finds it instead of creating a second), its service principal,
//! admin consent for its application permissions (app role assignments on the Microsoft Graph
//! service principal) and the service principal as an owner of its own application (so that
//! `addKey`/`removeKey` work app-only with `Application.ReadWrite.OwnedBy`).
//!
//! Each call is one Graph request (two where a lost answer must be checked); deciding what to
//! call, and in which order, is the caller's business.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use crate::error::Error;
use crate::graph::{GraphClient, parse_json, quote};
use crate::transport::{Body, TransportError};

/// Microsoft Graph's own `appId`, the same in every tenant and cloud.
pub const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// An app registration as the setup needs it: ids and display name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredApplication {
    /// The object id.
    pub id: String,
    pub app_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A service principal with the app roles it defines (Microsoft Graph's are its application
/// permissions).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    #[serde(default)]
    pub app_roles: Vec<AppRole>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    pub id: String,
    /// The permission's name, e.g. `Mail.Read`.
    #[serde(default)]
    pub value: Option<String>,
    /// `["Application"]` for application permissions.
    #[serde(default)]
    pub allowed_member_types: Vec<String>,
}

/// One app role granted to a principal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    #[serde(default)]
    pub id: Option<String>,
    pub app_role_id: String,
    pub principal_id: String,
    pub resource_id: String,
}

/// What `POST /applications` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplication<'a> {
    pub display_name: &'a str,
    /// Put in `tags`; [`GraphClient::application_by_marker`] finds the application by it.
    pub marker: &'a str,
    /// App role ids of Microsoft Graph listed in `requiredResourceAccess` (type `Role`).
    pub graph_app_roles: &'a [String],
}

#[derive(Deserialize)]
struct Collection<T> {
    value: Vec<T>,
}

#[derive(Deserialize)]
struct DirectoryObject {
    id: String,
}

impl GraphClient {
    /// `POST /applications`. When the answer is lost, the marker decides whether Graph created
    /// it (then that one is returned, never a second created).
    pub async fn create_application(
        &self,
        token: &str,
        new: &NewApplication<'_>,
    ) -> Result<RegisteredApplication, Error> {
        let access: Vec<_> = new
            .graph_app_roles
            .iter()
            .map(|id| json!({ "id": id, "type": "Role" }))
            .collect();
        let body = json!({
            "displayName": new.display_name,
            "signInAudience": "AzureADMyOrg",
            "tags": [new.marker],
            "requiredResourceAccess": [
                { "resourceAppId": MICROSOFT_GRAPH_APP_ID, "resourceAccess": access }
            ],
        });
        match self
            .call(Method::POST, token, "applications", Body::Json(body))
            .await
        {
            Ok(response) => parse_json(&response, "created application"),
            Err(Error::Transport(TransportError::WriteOutcomeUnknown { .. })) => {
                match self.application_by_marker(token, new.marker).await? {
                    Some(created) => Ok(created),
                    None => Err(Error::UnexpectedResponse {
                        service: "Microsoft Graph",
                        context: "create application",
                        detail:
                            "the answer was lost and no application carries the marker; try again"
                                .into(),
                    }),
                }
            }
            Err(other) => Err(other),
        }
    }

    /// `GET /applications?$filter=tags/any(t:t eq '<marker>')`: the application tenantlink
    /// created before in this tenant, if any (the first one when, against all care, several).
    pub async fn application_by_marker(
        &self,
        token: &str,
        marker: &str,
    ) -> Result<Option<RegisteredApplication>, Error> {
        let mut url = self.endpoints().graph_url("applications");
        url.query_pairs_mut()
            .append_pair("$filter", &format!("tags/any(t:t eq '{}')", quote(marker)))
            .append_pair("$select", "id,appId,displayName,tags");
        let response = self.send(Method::GET, token, url, Body::Empty).await?;
        let found: Collection<RegisteredApplication> =
            parse_json(&response, "applications by marker")?;
        Ok(found.value.into_iter().next())
    }

    /// `DELETE /applications/{id}` (a deleted application stays restorable for 30 days).
    pub async fn delete_application(&self, token: &str, object_id: &str) -> Result<(), Error> {
        let path = format!("applications/{}", quote(object_id));
        self.call(Method::DELETE, token, &path, Body::Empty)
            .await
            .map(drop)
    }

    /// `GET /servicePrincipals(appId='…')`; `None` when the tenant has none for the app.
    pub async fn service_principal_by_app_id(
        &self,
        token: &str,
        app_id: &str,
    ) -> Result<Option<ServicePrincipal>, Error> {
        let path = format!("servicePrincipals(appId='{}')", quote(app_id));
        let mut url = self.endpoints().graph_url(&path);
        url.query_pairs_mut()
            .append_pair("$select", "id,appId,appRoles");
        match self.send(Method::GET, token, url, Body::Empty).await {
            Ok(response) => parse_json(&response, "service principal").map(Some),
            Err(Error::Graph(error)) if error.http_status == 404 => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// `POST /servicePrincipals {"appId"}`. A lost answer is settled by looking it up.
    pub async fn create_service_principal(
        &self,
        token: &str,
        app_id: &str,
    ) -> Result<ServicePrincipal, Error> {
        let body = Body::Json(json!({ "appId": app_id }));
        match self
            .call(Method::POST, token, "servicePrincipals", body)
            .await
        {
            Ok(response) => parse_json(&response, "created service principal"),
            Err(Error::Transport(TransportError::WriteOutcomeUnknown { .. })) => self
                .service_principal_by_app_id(token, app_id)
                .await?
                .ok_or(Error::UnexpectedResponse {
                    service: "Microsoft Graph",
                    context: "create service principal",
                    detail: "the answer was lost and the tenant has no service principal for the application; try again".into(),
                }),
            Err(other) => Err(other),
        }
    }

    /// `GET /servicePrincipals/{id}/appRoleAssignments`: the app roles granted to `principal_id`.
    pub async fn app_role_assignments(
        &self,
        token: &str,
        principal_id: &str,
    ) -> Result<Vec<AppRoleAssignment>, Error> {
        let path = format!(
            "servicePrincipals/{}/appRoleAssignments",
            quote(principal_id)
        );
        let response = self.call(Method::GET, token, &path, Body::Empty).await?;
        let list: Collection<AppRoleAssignment> = parse_json(&response, "app role assignments")?;
        Ok(list.value)
    }

    /// `POST /servicePrincipals/{resource}/appRoleAssignedTo`: admin consent for one application
    /// permission of `resource_id` to `principal_id`.
    pub async fn grant_app_role(
        &self,
        token: &str,
        resource_id: &str,
        principal_id: &str,
        app_role_id: &str,
    ) -> Result<AppRoleAssignment, Error> {
        let path = format!("servicePrincipals/{}/appRoleAssignedTo", quote(resource_id));
        let body = Body::Json(json!({
            "principalId": principal_id,
            "resourceId": resource_id,
            "appRoleId": app_role_id,
        }));
        let response = self.call(Method::POST, token, &path, body).await?;
        parse_json(&response, "app role assignment")
    }

    /// `GET /applications/{id}/owners`: the object ids of the application's owners.
    pub async fn owners(&self, token: &str, object_id: &str) -> Result<Vec<String>, Error> {
        let path = format!("applications/{}/owners", quote(object_id));
        let mut url = self.endpoints().graph_url(&path);
        url.query_pairs_mut().append_pair("$select", "id");
        let response = self.send(Method::GET, token, url, Body::Empty).await?;
        let list: Collection<DirectoryObject> = parse_json(&response, "owners")?;
        Ok(list.value.into_iter().map(|o| o.id).collect())
    }

    /// `POST /applications/{id}/owners/$ref`: makes the directory object `owner_id` (a user or
    /// a service principal) an owner of the application.
    pub async fn add_owner(
        &self,
        token: &str,
        object_id: &str,
        owner_id: &str,
    ) -> Result<(), Error> {
        let path = format!("applications/{}/owners/$ref", quote(object_id));
        let reference = self
            .endpoints()
            .graph_url(&format!("directoryObjects/{}", quote(owner_id)));
        let body = Body::Json(json!({ "@odata.id": reference.as_str() }));
        self.call(Method::POST, token, &path, body).await.map(drop)
    }
}
