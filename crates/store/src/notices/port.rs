//! The service's `NoticeRepository` over the store's notice methods: the same queries, with
//! the master key joined where secrets are sealed and opened, and errors in the port's terms.

use tenantlink_service::notices::{
    AttemptRecord, Delivery, DeliveryId, NewNotice, NewWebhookEndpoint, Notice, NoticeId,
    NoticeRepository, NoticeSettings, WebhookEndpoint, WebhookId,
};
use tenantlink_service::{BoxFuture, OrganizationId, RepoResult, RepositoryError, SecretString};
use time::OffsetDateTime;

use crate::repository::{InPort, StoreRepository};

impl NoticeRepository for StoreRepository {
    fn record_notice<'a>(
        &'a self,
        notice: &'a NewNotice,
    ) -> BoxFuture<'a, RepoResult<Option<Notice>>> {
        Box::pin(async move {
            self.store()
                .record_notice(notice)
                .await
                .port("record the notice")
        })
    }

    fn notice(&self, id: NoticeId) -> BoxFuture<'_, RepoResult<Notice>> {
        Box::pin(async move { self.store().notice(id).await.port("read the notice") })
    }

    fn notices(
        &self,
        organization: Option<OrganizationId>,
        limit: u32,
    ) -> BoxFuture<'_, RepoResult<Vec<Notice>>> {
        Box::pin(async move {
            self.store()
                .notices(organization, limit)
                .await
                .port("list notices")
        })
    }

    fn create_webhook<'a>(
        &'a self,
        new: &'a NewWebhookEndpoint,
        secret: &'a SecretString,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<WebhookEndpoint>> {
        Box::pin(async move {
            self.store()
                .create_webhook(self.master_key(), new, secret, now)
                .await
                .port("create the webhook endpoint")
        })
    }

    fn webhooks(&self) -> BoxFuture<'_, RepoResult<Vec<WebhookEndpoint>>> {
        Box::pin(async move { self.store().webhooks().await.port("list webhook endpoints") })
    }

    fn webhook(&self, id: WebhookId) -> BoxFuture<'_, RepoResult<WebhookEndpoint>> {
        Box::pin(async move {
            self.store()
                .webhook(id)
                .await
                .port("read the webhook endpoint")
        })
    }

    fn webhook_secret(&self, id: WebhookId) -> BoxFuture<'_, RepoResult<SecretString>> {
        Box::pin(async move {
            let plain = self
                .store()
                .webhook_secret(self.master_key(), id)
                .await
                .port("read the webhook secret")?;
            let text = std::str::from_utf8(&plain).map_err(|_| {
                RepositoryError::storage("read the webhook secret", "it is not UTF-8")
            })?;
            Ok(SecretString::new(text))
        })
    }

    fn set_webhook_enabled(
        &self,
        id: WebhookId,
        enabled: bool,
        _now: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<WebhookEndpoint>> {
        Box::pin(async move {
            self.store()
                .set_webhook_enabled(id, enabled)
                .await
                .port("enable or disable the webhook endpoint")
        })
    }

    fn delete_webhook(&self, id: WebhookId) -> BoxFuture<'_, RepoResult<()>> {
        Box::pin(async move {
            self.store()
                .delete_webhook(id)
                .await
                .port("delete the webhook endpoint")
        })
    }

    fn due_deliveries(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> BoxFuture<'_, RepoResult<Vec<Delivery>>> {
        Box::pin(async move {
            self.store()
                .due_deliveries(now, limit)
                .await
                .port("list the due deliveries")
        })
    }

    fn claim_delivery<'a>(
        &'a self,
        id: DeliveryId,
        holder: &'a str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<bool>> {
        Box::pin(async move {
            self.store()
                .claim_delivery(id, holder, now, until)
                .await
                .port("claim the delivery")
        })
    }

    fn record_attempt<'a>(
        &'a self,
        id: DeliveryId,
        attempt: &'a AttemptRecord,
        failing_after: u32,
    ) -> BoxFuture<'a, RepoResult<Delivery>> {
        Box::pin(async move {
            self.store()
                .record_attempt(id, attempt, failing_after)
                .await
                .port("record the delivery attempt")
        })
    }

    fn deliveries(
        &self,
        webhook: Option<WebhookId>,
        limit: u32,
    ) -> BoxFuture<'_, RepoResult<Vec<Delivery>>> {
        Box::pin(async move {
            self.store()
                .deliveries(webhook, limit)
                .await
                .port("list the deliveries")
        })
    }

    fn notice_settings(&self) -> BoxFuture<'_, RepoResult<NoticeSettings>> {
        Box::pin(async move {
            self.store()
                .notice_settings()
                .await
                .port("read the notice settings")
        })
    }

    fn set_notice_settings<'a>(
        &'a self,
        settings: &'a NoticeSettings,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            self.store()
                .set_notice_settings(settings, at)
                .await
                .port("write the notice settings")
        })
    }

    fn organization_recipients(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<String>>> {
        Box::pin(async move {
            self.store()
                .organization_recipients(organization)
                .await
                .port("read the organization's recipients")
        })
    }

    fn set_organization_recipients<'a>(
        &'a self,
        organization: OrganizationId,
        recipients: &'a [String],
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            self.store()
                .set_organization_recipients(organization, recipients, at)
                .await
                .port("write the organization's recipients")
        })
    }
}
