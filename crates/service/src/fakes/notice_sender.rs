//! A [`NoticeSender`] that records every message and answers as a test scripts it: by default
//! every webhook answers 200 and every e-mail is accepted.

use crate::notices::{EmailMessage, NoticeSender, SendError, WebhookMessage};
use crate::ports::BoxFuture;
use crate::secret::SecretString;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// One webhook request as the sender was asked to make it.
#[derive(Debug, Clone)]
pub struct SentWebhook {
    pub url: String,
    /// The signing secret it was given (tests check it is the endpoint's).
    pub secret: String,
    pub message: WebhookMessage,
    /// What the fake answered.
    pub answer: Result<u16, SendError>,
}

/// One e-mail as the sender was asked to send it, and what the fake answered.
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub message: EmailMessage,
    pub answer: Result<(), SendError>,
}

#[derive(Debug, Default)]
struct Script {
    webhooks: Vec<SentWebhook>,
    emails: Vec<SentEmail>,
    /// Answers for the next requests to a URL, in order; then `down` or 200.
    next_for: HashMap<String, VecDeque<Result<u16, SendError>>>,
    /// URLs that answer this status until told otherwise.
    down: HashMap<String, u16>,
    next_emails: VecDeque<Result<(), SendError>>,
}

/// Clones share the record and the script.
#[derive(Debug, Clone, Default)]
pub struct RecordingSender {
    script: Arc<Mutex<Script>>,
}

/// A failed answer as a receiver gives it: an HTTP status and its sentence.
pub fn http_error(status: u16) -> SendError {
    SendError {
        status_code: Some(status),
        message: format!("the endpoint answered HTTP {status}"),
    }
}

impl RecordingSender {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next requests to `url` get these answers, in order (then the usual one).
    pub fn answer_next(
        &self,
        url: &str,
        answers: impl IntoIterator<Item = Result<u16, SendError>>,
    ) {
        super::lock(&self.script)
            .next_for
            .entry(url.to_owned())
            .or_default()
            .extend(answers);
    }

    /// `url` answers `status` (an error) until [`RecordingSender::bring_up`].
    pub fn take_down(&self, url: &str, status: u16) {
        super::lock(&self.script)
            .down
            .insert(url.to_owned(), status);
    }

    pub fn bring_up(&self, url: &str) {
        super::lock(&self.script).down.remove(url);
    }

    /// The next e-mails get these answers, in order (then accepted).
    pub fn answer_next_emails(&self, answers: impl IntoIterator<Item = Result<(), SendError>>) {
        super::lock(&self.script).next_emails.extend(answers);
    }

    /// Every webhook request so far, in order.
    pub fn webhooks(&self) -> Vec<SentWebhook> {
        super::lock(&self.script).webhooks.clone()
    }

    /// Every e-mail so far, in order.
    pub fn emails(&self) -> Vec<SentEmail> {
        super::lock(&self.script).emails.clone()
    }

    /// The webhook requests `url` accepted.
    pub fn accepted_by(&self, url: &str) -> Vec<SentWebhook> {
        self.webhooks()
            .into_iter()
            .filter(|sent| sent.url == url && sent.answer.is_ok())
            .collect()
    }
}

impl NoticeSender for RecordingSender {
    fn send_webhook<'a>(
        &'a self,
        url: &'a str,
        secret: &'a SecretString,
        message: &'a WebhookMessage,
    ) -> BoxFuture<'a, Result<u16, SendError>> {
        let mut script = super::lock(&self.script);
        let scripted = script.next_for.get_mut(url).and_then(VecDeque::pop_front);
        let answer = match (scripted, script.down.get(url)) {
            (Some(answer), _) => answer,
            (None, Some(status)) => Err(http_error(*status)),
            (None, None) => Ok(200),
        };
        script.webhooks.push(SentWebhook {
            url: url.to_owned(),
            secret: secret.expose().to_owned(),
            message: message.clone(),
            answer: answer.clone(),
        });
        super::ready(answer)
    }

    fn send_email<'a>(&'a self, message: &'a EmailMessage) -> BoxFuture<'a, Result<(), SendError>> {
        let mut script = super::lock(&self.script);
        let answer = script.next_emails.pop_front().unwrap_or(Ok(()));
        script.emails.push(SentEmail {
            message: message.clone(),
            answer: answer.clone(),
        });
        super::ready(answer)
    }
}
