//! The Graph reads a backup run makes: users (all, or one by id or UPN) and a mailbox's inbox
//! through the delta query (`@odata.nextLink` pages ending in an `@odata.deltaLink`).
//!
//! Every call goes through the entra [`Transport`], so 429 + `Retry-After`, 503/504 and dropped
//! connections are retried within its bounds; nothing here retries on its own. Links that Graph
//! returns are followed only when they point at the same origin as the configured Graph base,
//! so a forged link cannot carry the bearer token elsewhere.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use tenantlink_entra::transport::{Body, Request, Response};
use tenantlink_entra::{Endpoints, Error, GraphError, Idempotency, Transport};

/// Messages per page asked of Graph (`Prefer: odata.maxpagesize` is not sent by the transport,
/// so `$top` carries it on the first request; Graph keeps it in the links it returns).
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// A user of the tenant whose mailbox may be backed up.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphUser {
    pub id: String,
    #[serde(default)]
    pub user_principal_name: Option<String>,
}

/// One page of a delta round.
#[derive(Debug)]
pub struct DeltaPage {
    /// Messages as Graph sent them (removed entries included, marked with `@removed`).
    pub messages: Vec<Value>,
    pub continuation: Continuation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Continuation {
    /// More pages: follow this `@odata.nextLink`.
    NextPage(Url),
    /// The round is complete; keep this `@odata.deltaLink` for the next run.
    Complete(String),
}

#[derive(Deserialize)]
struct Collection<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

/// Reads users and mailboxes from Graph with an app-only token.
#[derive(Debug, Clone)]
pub struct GraphReader {
    transport: Transport,
    endpoints: Endpoints,
    page_size: u32,
}

impl GraphReader {
    pub fn new(transport: Transport, endpoints: Endpoints) -> Self {
        Self {
            transport,
            endpoints,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }

    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.clamp(1, 1000);
        self
    }

    /// Every user of the tenant, following `@odata.nextLink`.
    pub async fn all_users(&self, token: &str) -> Result<Vec<GraphUser>, Error> {
        let mut url = self.endpoints.graph_url("users");
        url.query_pairs_mut()
            .append_pair("$select", "id,userPrincipalName")
            .append_pair("$top", &self.page_size.to_string());
        let mut users = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next.take() {
            let page: Collection<GraphUser> = self.get_json(token, url, "user list").await?;
            users.extend(page.value);
            next = page
                .next_link
                .map(|link| self.same_origin(&link))
                .transpose()?;
        }
        Ok(users)
    }

    /// One user by object id or user principal name; `None` when Graph says it does not exist.
    pub async fn user(&self, token: &str, reference: &str) -> Result<Option<GraphUser>, Error> {
        let mut url = self.endpoints.graph_url("users");
        url.path_segments_mut()
            .map_err(|()| unexpected("user URL", "the Graph base URL cannot have a path"))?
            .push(reference);
        url.query_pairs_mut()
            .append_pair("$select", "id,userPrincipalName");
        match self.get_json(token, url, "user").await {
            Ok(user) => Ok(Some(user)),
            Err(Error::Graph(e)) if e.http_status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The first page of a full delta round over the user's inbox.
    pub fn inbox_delta_start(&self, user_id: &str) -> Result<Url, Error> {
        let mut url = self.endpoints.graph_url("users");
        url.path_segments_mut()
            .map_err(|()| unexpected("delta URL", "the Graph base URL cannot have a path"))?
            .extend([user_id, "mailFolders", "inbox", "messages", "delta"]);
        url.query_pairs_mut()
            .append_pair("$top", &self.page_size.to_string());
        Ok(url)
    }

    /// A stored delta link, checked before the token is sent to it.
    pub fn resume_from(&self, delta_link: &str) -> Result<Url, Error> {
        self.same_origin(delta_link)
    }

    pub async fn delta_page(&self, token: &str, url: Url) -> Result<DeltaPage, Error> {
        let page: Collection<Value> = self.get_json(token, url, "mailbox delta page").await?;
        let continuation = match (page.next_link, page.delta_link) {
            (Some(next), _) => Continuation::NextPage(self.same_origin(&next)?),
            (None, Some(delta)) => {
                self.same_origin(&delta)?;
                Continuation::Complete(delta)
            }
            (None, None) => {
                return Err(unexpected(
                    "mailbox delta page",
                    "neither @odata.nextLink nor @odata.deltaLink in the response",
                ));
            }
        };
        Ok(DeltaPage {
            messages: page.value,
            continuation,
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        url: Url,
        context: &'static str,
    ) -> Result<T, Error> {
        let response = self
            .transport
            .send(&Request {
                method: Method::GET,
                url,
                bearer: Some(token),
                body: Body::Empty,
                idempotency: Idempotency::Safe,
            })
            .await?;
        if !response.status.is_success() {
            return Err(graph_failure(&response, context));
        }
        serde_json::from_slice(&response.body).map_err(|e| unexpected(context, &e.to_string()))
    }

    fn same_origin(&self, link: &str) -> Result<Url, Error> {
        let url = Url::parse(link).map_err(|e| unexpected("link from Graph", &e.to_string()))?;
        if url.origin() != self.endpoints.graph().origin() {
            return Err(unexpected(
                "link from Graph",
                &format!(
                    "it points at {} instead of {}; not following it",
                    url.origin().ascii_serialization(),
                    self.endpoints.graph().origin().ascii_serialization()
                ),
            ));
        }
        Ok(url)
    }
}

fn graph_failure(response: &Response, context: &'static str) -> Error {
    match GraphError::parse(response.status.as_u16(), &response.body) {
        Some(e) => e.into(),
        None => Error::UnexpectedResponse {
            service: "Microsoft Graph",
            context,
            detail: format!(
                "HTTP {} without a Graph error body (client-request-id {})",
                response.status, response.client_request_id
            ),
        },
    }
}

fn unexpected(context: &'static str, detail: &str) -> Error {
    Error::UnexpectedResponse {
        service: "Microsoft Graph",
        context,
        detail: detail.to_owned(),
    }
}
