"""Issue #13, "How it is proven", first point: notices end to end against `tenantlink serve`.

The real binary on its embedded defaults (SQLite, the sandbox in-process), a webhook receiver
that verifies every request with the Standard Webhooks library, and a real SMTP server
(aiosmtpd) on loopback. With automatic rotation off, the shared clock of the service and its
sandbox is moved to 30, 14, 7 and 1 days before the certificate's end: each threshold gives
exactly one webhook delivery and one e-mail. A restart between two thresholds sends nothing
again; a receiver that answers 500 once is retried (the clock moved past the first retry, a
minute) and then gets it; a wrong secret makes the library refuse the very same request.

Waiting is for events (a delivery arriving, the watcher's next pass in the log), each with a
deadline; time itself is moved through the sandbox's control API, never waited for.
"""

import base64
import datetime
import json
import re
import secrets
import time

import pytest
import standardwebhooks.webhooks
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from conftest import Portal

THRESHOLDS = [30, 14, 7, 1]
RECIPIENT = "fleet-ops@example.test"
PUBLIC_URL = "https://tenantlink.example.test/"
# Watch every 5 s (the least allowed) and dispatch every second: a threshold is seen seconds
# after the clock moved, a retry a second after it is due.
CONFIG = """
[notices]
public_url = "{public_url}"
watch_every_seconds = 5
dispatch_every_seconds = 1

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "plain"
from = "tenantlink <tenantlink@example.test>"
timeout_seconds = 5

[certificates]
validity_days = 60
"""
DEADLINE = 45
METRICS_TOKEN = "notices-e2e-metrics-token"


def wait_until(what, check, timeout=DEADLINE):
    """Polls `check` until it returns something truthy (an event: a delivery arrived, a log
    line was written), failing with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class SandboxTime(datetime.datetime):
    """`datetime` for the Standard Webhooks library, running on the sandbox's clock. The service
    signs each attempt with its own clock (`webhook-timestamp`), which follows the sandbox's;
    a receiver in that moved world checks the timestamp's freshness against the same clock.
    Only `now` is shifted: the signature check itself is the library's, untouched."""

    offset = datetime.timedelta(0)

    @classmethod
    def now(cls, tz=None):
        return datetime.datetime.now(tz) + cls.offset


@pytest.fixture
def sandbox_time(monkeypatch):
    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", SandboxTime)
    SandboxTime.offset = datetime.timedelta(0)
    yield SandboxTime
    SandboxTime.offset = datetime.timedelta(0)


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


class Scenario:
    """The running service and what the test set up on it."""

    def __init__(self, serve, config_file, receiver, inbox, clock):
        self.serve = serve
        self.config_file = config_file
        self.receiver = receiver
        self.inbox = inbox
        self.clock = clock
        self.env = {
            # The watcher's passes are the events the quiet checks wait for.
            "TENANTLINK_LOG": "info,tenantlink_service::notices=debug",
            "TENANTLINK_METRICS_BEARER_TOKEN": METRICS_TOKEN,
        }
        self.start()

    def start(self):
        self.server = self.serve(env=self.env, config_file=self.config_file)
        self.portal = Portal(self.server)
        # A new process starts on the real time: the receiver's clock follows.
        self.clock.offset = datetime.timedelta(0)

    def restart(self):
        self.server.stop()
        self.start()

    # The receiver's clock moves first (to within a second of where the service's goes): the
    # dispatcher may sign an attempt on the moved clock before the control API has answered.
    def set_clock(self, at):
        self.clock.offset = at - datetime.datetime.now(datetime.timezone.utc)
        moved = self.server.sandbox.control("/clock", {"now": at.isoformat()})
        self.clock.offset = datetime.timedelta(seconds=moved["offset_seconds"])
        return parse_time(moved["now"])

    def advance_clock(self, seconds):
        self.clock.offset += datetime.timedelta(seconds=seconds)
        moved = self.server.sandbox.advance_clock(seconds)
        self.clock.offset = datetime.timedelta(seconds=moved["offset_seconds"])

    def log_mark(self):
        return len(self.server.log())

    def watcher_passes(self, since):
        """The watcher passes logged after `since` (a log_mark), as (due, recorded)."""
        text = self.server.log()[since:]
        return [
            (int(m.group(1)), int(m.group(2)))
            for m in re.finditer(r"notice watcher pass.*?due: (\d+), recorded: (\d+)", text)
        ]

    def webhooks_for(self, threshold):
        return [
            r
            for r in list(self.receiver.verified)
            if r["payload"]["type"] == "certificate.expiring"
            and r["payload"]["data"].get("threshold_days") == threshold
        ]

    def notice_ids_for(self, threshold):
        """The notice ids (`webhook-id`) the receiver saw for `threshold`, refused attempts too."""
        seen = [(r["headers"]["webhook-id"], r["body"]) for r in list(self.receiver.verified) + list(self.receiver.refused)]
        return {
            notice
            for notice, body in seen
            if json.loads(body)["type"] == "certificate.expiring"
            and json.loads(body)["data"].get("threshold_days") == threshold
        }

    def emails_for(self, threshold):
        """The e-mails naming a notice of `threshold` (each names its notice id, as the
        webhook's `webhook-id`)."""
        ids = self.notice_ids_for(threshold)
        return [
            m
            for m in list(self.inbox.messages)
            if any(f"notice {notice})" in email_text(m["message"]) for notice in ids)
        ]


def delivery_counts(portal):
    """`tenantlink_notice_deliveries_total` by (channel, outcome), as the Prometheus project's
    OpenMetrics parser reads the scrape."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    scrape = portal.http.get(f"{portal.base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scrape.status_code == 200, scrape.status_code
    return {
        (sample.labels["channel"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(scrape.text)
        for sample in family.samples
        if sample.name == "tenantlink_notice_deliveries_total"
    }


def email_text(message):
    return message.get_body(preferencelist=("plain",)).get_content()


def email_html(message):
    return message.get_body(preferencelist=("html",)).get_content()


def test_each_threshold_is_delivered_once_per_channel_across_a_restart_and_a_retry(
    serve, webhook_receiver, smtp_inbox, sandbox_time, tmp_path
):
    config_file = tmp_path / "tenantlink.toml"
    config_file.write_text(CONFIG.format(public_url=PUBLIC_URL, smtp_port=smtp_inbox.port))
    s = Scenario(serve, config_file, webhook_receiver, smtp_inbox, sandbox_time)
    portal = s.portal
    organization = portal.first_organization()
    org = portal.get(f"/api/v1/organizations/{organization}")

    # Rotation off, so the certificate stays the active one through every threshold.
    changed = portal.request(
        "PATCH", f"/api/v1/organizations/{organization}", {"renewal_policy": {"automatic": False}}
    )
    assert changed["renewal_policy"]["automatic"] is False, changed
    if portal.certificate(organization).get("active") is None:
        portal.generate_certificate(organization)
    active = portal.certificate(organization)["active"]
    thumbprint = active["sha1_thumbprint"]
    not_after = parse_time(active["valid_to"])

    # A webhook endpoint (the secret is shown once, here) and the default e-mail recipients.
    created = portal.request(
        "POST",
        "/api/v1/webhooks",
        {"url": webhook_receiver.url, "description": "e2e receiver"},
        expect=201,
    )
    assert created["secret"].startswith("whsec_"), created
    webhook_receiver.secret = created["secret"]
    listed = portal.get("/api/v1/webhooks")
    assert "whsec_" not in str(listed), "the secret is never shown again"
    settings = portal.get("/api/v1/notices/settings")
    settings.update(
        {"expiry_thresholds_days": THRESHOLDS, "default_recipients": [RECIPIENT], "email_mode": "immediate"}
    )
    stored = portal.request("PUT", "/api/v1/notices/settings", settings)
    assert stored["default_recipients"] == [RECIPIENT], stored
    assert "certificate.expiring" in stored["email_event_types"], stored

    def assert_only_the_right_secret_verifies(record):
        """The receiver verified it with the endpoint's secret; the very same request under a
        wrong secret (well formed, another key) is refused by the library. Checked at once,
        while the attempt's timestamp is fresh on the (moved) clock."""
        assert Webhook(webhook_receiver.secret).verify(record["body"], record["headers"]) == record["payload"]
        wrong = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        with pytest.raises(WebhookVerificationError, match="No matching signature"):
            Webhook(wrong).verify(record["body"], record["headers"])

    def reach(threshold):
        """Moves the clock just inside `threshold` and waits for its webhook and e-mail."""
        s.set_clock(not_after - datetime.timedelta(days=threshold) + datetime.timedelta(hours=1))
        wait_until(f"the {threshold}-day webhook", lambda: s.webhooks_for(threshold))
        wait_until(f"the {threshold}-day e-mail", lambda: s.emails_for(threshold))
        assert_only_the_right_secret_verifies(s.webhooks_for(threshold)[0])

    def assert_quiet_for_two_watcher_passes():
        """Two more watcher passes (the second 5 s after the first, so the dispatcher ran
        several times between) that saw a notice due and recorded nothing new."""
        mark = s.log_mark()

        def two_passes_seeing_it_due():
            passes = s.watcher_passes(mark)
            return passes if len([due for due, _ in passes if due >= 1]) >= 2 else None

        passes = wait_until("two watcher passes", two_passes_seeing_it_due)
        assert all(recorded == 0 for _, recorded in passes), passes

    def assert_delivered_once(threshold):
        hooks, mails = s.webhooks_for(threshold), s.emails_for(threshold)
        assert len(hooks) == 1, [h["payload"] for h in hooks]
        assert len(mails) == 1, [m["message"]["subject"] for m in mails]
        payload = hooks[0]["payload"]
        data = payload["data"]
        assert payload["type"] == "certificate.expiring"
        assert data["threshold_days"] == threshold
        assert data["certificate"]["sha1_thumbprint"] == thumbprint
        assert parse_time(data["certificate"]["not_after"]) == not_after
        assert data["organization"]["id"] == organization
        assert data["organization"]["name"] == org["name"]
        assert data["link"] == f"{PUBLIC_URL}organizations/{organization}/settings/system", data["link"]
        assert hooks[0]["headers"]["webhook-signature"].startswith("v1,"), hooks[0]["headers"]
        assert "renewal is off" in data["what_to_do"], data["what_to_do"]
        mail = mails[0]
        assert mail["to"] == [RECIPIENT], mail["to"]
        subject = str(mail["message"]["subject"])
        # Whole days left, rounded down: under a day (the 1-day threshold) is not "today".
        ends = "within a day" if data["days_left"] == 0 else f"in {data['days_left']} days"
        assert subject.endswith(f"The certificate of {org['name']} ends {ends}"), subject
        for part in (email_text(mail["message"]), email_html(mail["message"])):
            assert org["name"] in part
            assert thumbprint in part
            assert data["link"] in part

    # The link is the portal's certificate page, which this instance serves.
    page = portal.http.get(f"{portal.base}/organizations/{organization}/settings/system")
    assert page.status_code == 200, page.status_code

    # 30 and 14 days before the end, each once.
    for threshold in (30, 14):
        reach(threshold)
        assert_quiet_for_two_watcher_passes()
        assert_delivered_once(threshold)

    # A restart between two thresholds: the new process (on the same data directory, its clock
    # back at the real time) sees the 14-day threshold due again and sends nothing twice.
    s.restart()
    s.set_clock(not_after - datetime.timedelta(days=14) + datetime.timedelta(hours=2))
    assert_quiet_for_two_watcher_passes()
    for threshold in (30, 14):
        assert_delivered_once(threshold)

    reach(7)
    assert_quiet_for_two_watcher_passes()
    assert_delivered_once(7)

    # The 1-day notice meets a receiver that answers 500 once: the e-mail leaves, the webhook
    # delivery waits a minute (on the service's clock) for its second attempt.
    webhook_receiver.fail_next(1)
    s.set_clock(not_after - datetime.timedelta(days=1) + datetime.timedelta(hours=1))
    refused = wait_until("the refused 1-day attempt", lambda: list(webhook_receiver.refused))
    wait_until("the 1-day e-mail", lambda: s.emails_for(1))
    webhook = created["id"]

    def delivery_of(notice_id):
        def found():
            listed = s.portal.get(f"/api/v1/webhooks/{webhook}/deliveries")["deliveries"]
            return [d for d in listed if d["notice_id"] == notice_id]

        return found

    failed_id = refused[0]["headers"]["webhook-id"]
    pending = wait_until(
        "the failed attempt in the delivery log",
        lambda: [d for d in delivery_of(failed_id)() if d["attempts"] == 1 and d["last_status_code"] == 500],
    )[0]
    assert pending["status"] == "pending", pending
    # The first retry is a minute after the failed attempt (on the service's clock).
    wait = parse_time(pending["next_attempt_at"]) - parse_time(pending["last_attempt_at"])
    assert wait == datetime.timedelta(minutes=1), pending
    assert s.webhooks_for(1) == [], "not delivered before the retry"
    s.advance_clock(61)
    retried = wait_until("the retried 1-day webhook", lambda: s.webhooks_for(1))
    assert retried[0]["headers"]["webhook-id"] == failed_id, "a retry keeps the notice's id"
    assert_only_the_right_secret_verifies(retried[0])
    delivered = wait_until(
        "the delivered retry in the delivery log",
        lambda: [d for d in delivery_of(failed_id)() if d["status"] == "delivered"],
    )[0]
    assert delivered["attempts"] == 2, delivered
    assert delivered["last_status_code"] in range(200, 300), delivered
    assert_quiet_for_two_watcher_passes()
    for threshold in THRESHOLDS:
        assert_delivered_once(threshold)
    assert len(webhook_receiver.verified) == len(THRESHOLDS), [r["payload"]["type"] for r in webhook_receiver.verified]
    assert len(smtp_inbox.messages) == len(THRESHOLDS), [m["message"]["subject"] for m in smtp_inbox.messages]
    # Nothing failed verification: the one refusal is the 500 the receiver was told to give.
    assert [r["reason"] for r in webhook_receiver.refused] == ["told to fail"], webhook_receiver.refused

    # This process (since the restart) made the attempts of 7 and 1 days: /metrics counts them.
    counts = {k: v for k, v in delivery_counts(s.portal).items() if v}
    assert counts == {
        ("webhook", "delivered"): 2,
        ("webhook", "retrying"): 1,
        ("email", "delivered"): 2,
    }, counts

