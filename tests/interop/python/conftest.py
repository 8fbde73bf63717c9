"""Fixtures: a real `tenantlink sandbox` process per test, with its own state directory.

The binary comes from TENANTLINK_BIN (scripts/test sets it); the sandbox picks a free port and
describes itself in sandbox.json, which the fixture reads once the process says it is listening.
"""

import datetime
import json
import os
import subprocess

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"


def _binary():
    path = os.environ.get("TENANTLINK_BIN")
    if not path or not os.path.exists(path):
        pytest.fail(
            "TENANTLINK_BIN must point at a built tenantlink binary; run scripts/test "
            "(or: cargo build -p tenantlink && TENANTLINK_BIN=target/debug/tenantlink pytest ...)"
        )
    return path


class Sandbox:
    """A running sandbox and the calls the tests make to it besides MSAL's own."""

    def __init__(self, info):
        self.info = info
        self.authority = info["authority"]
        self.tenant_id = info["tenant_id"]
        self.tenant_authority = f"{self.authority}/{self.tenant_id}"
        self.ca_file = info["ca_file"]
        self.http = requests.Session()
        self.http.verify = self.ca_file
        # The sandbox embedded in `serve` publishes a control secret in sandbox.json.
        self.control_headers = (
            {"Authorization": f"Bearer {info['control_secret']}"} if info.get("control_secret") else {}
        )

    def user(self, role):
        for user in self.info["users"]:
            if (role in user["roles"]) if role else not user["roles"]:
                return user
        raise AssertionError(f"no published user with role {role!r}")

    def control(self, path, body=None, method="POST"):
        response = self.http.request(
            method, f"{self.info['control_base']}{path}", json=body, headers=self.control_headers
        )
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def advance_clock(self, seconds):
        return self.control("/clock", {"advance_seconds": seconds})

    def graph(self, method, path, token, body=None):
        return self.http.request(
            method,
            f"{self.info['graph_base']}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )

    def admin_token(self):
        """A delegated Graph token for the administrator, through MSAL's device flow."""
        import msal

        app = msal.PublicClientApplication(
            self.info["public_client_id"],
            authority=self.tenant_authority,
            instance_discovery=False,
            verify=self.ca_file,
        )
        flow = app.initiate_device_flow(scopes=["https://graph.microsoft.com/Application.ReadWrite.All"])
        assert "user_code" in flow, flow
        admin = self.user("Global Administrator")["username"]
        self.control("/device/approve", {"user_code": flow["user_code"], "username": admin})
        result = app.acquire_token_by_device_flow(flow)
        assert "access_token" in result, result
        return result["access_token"]

    def attach(self, *certificates):
        """Replaces the backup application's keyCredentials with these certificates (Graph PATCH)."""
        keys = [
            {"type": "AsymmetricX509Cert", "usage": "Verify", "key": c.graph_key()} for c in certificates
        ]
        response = self.graph(
            "PATCH",
            f"/applications/{self.info['backup_app']['object_id']}",
            self.admin_token(),
            {"keyCredentials": keys},
        )
        assert response.status_code == 204, response.text


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    state_dir = tmp_path / "state"
    process = subprocess.Popen(
        [_binary(), "sandbox", "--listen", "127.0.0.1:0", "--state-dir", str(state_dir), "--enable-control"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = process.stdout.readline()
        if not first_line.startswith("sandbox tenant listening at"):
            process.kill()
            pytest.fail(f"sandbox did not start: {first_line}{process.stderr.read()}")
        with open(state_dir / "sandbox.json") as f:
            info = json.load(f)
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify`, so MSAL's
        # `verify=` alone is ignored wherever those are set (psf/requests#3829): point them at the sandbox CA.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", info["ca_file"])
        monkeypatch.setenv("CURL_CA_BUNDLE", info["ca_file"])
        yield Sandbox(info)
    finally:
        process.terminate()
        process.wait(timeout=10)


class Certificate:
    """A self-signed RSA certificate with its key, in the shapes MSAL and azure-identity take."""

    def __init__(self, directory, name="backup", days=30, key_size=2048):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"sandbox {name}")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .sign(self.key, hashes.SHA256())
        )
        self.key_pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM).decode()
        self.sha1_hex = self.cert.fingerprint(hashes.SHA1()).hex().upper()
        self.pem_path = directory / f"{name}.pem"
        self.pem_path.write_text(self.key_pem + self.cert_pem)
        self.pfx_password = "pfx-password"
        self.pfx_path = directory / f"{name}.pfx"
        self.pfx_path.write_bytes(
            pkcs12.serialize_key_and_certificates(
                name.encode(),
                self.key,
                self.cert,
                None,
                serialization.BestAvailableEncryption(self.pfx_password.encode()),
            )
        )

    def graph_key(self):
        import base64

        return base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()


@pytest.fixture
def certificate(tmp_path):
    return Certificate(tmp_path)


# --- `tenantlink serve` on the embedded defaults, the portal's API, and notice receivers ---

SERVE_ADMIN_PASSWORD = "interop-admin-password-42"
SERVE_ANNOUNCEMENT = "tenantlink is serving at "
# Start-up on a loaded 2-core machine: Argon2id for the admin, the sandbox's CA and keys.
SERVE_START_TIMEOUT = 120


class Serve:
    """One `tenantlink serve` process on `data_dir` (SQLite, the sandbox in-process): `base`
    (no trailing slash), `sandbox` (a Sandbox over its sandbox.json), `log_path` (stderr)."""

    def __init__(self, data_dir, log_path, env, config_file=None):
        import threading

        args = [_binary(), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir)]
        if config_file:
            args += ["--config", str(config_file)]
        self.data_dir = data_dir
        self.log_path = log_path
        self._log = open(log_path, "a")
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, "TENANTLINK_ADMIN_PASSWORD": SERVE_ADMIN_PASSWORD, "NO_COLOR": "1", **env},
        )
        announced = threading.Event()
        seen = []

        def read_stdout():
            # Read to the end so the child never blocks on a full pipe.
            for line in self.process.stdout:
                seen.append(line)
                if line.startswith(SERVE_ANNOUNCEMENT):
                    self.base = line[len(SERVE_ANNOUNCEMENT) :].strip().rstrip("/")
                    announced.set()
            announced.set()

        threading.Thread(target=read_stdout, daemon=True).start()
        if not announced.wait(SERVE_START_TIMEOUT) or not hasattr(self, "base"):
            self.stop()
            pytest.fail(f"tenantlink serve did not start; stdout: {seen!r}; log: {self.log()}")
        with open(data_dir / "sandbox" / "sandbox.json") as f:
            self.sandbox = Sandbox(json.load(f))

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        """Stops it as Ctrl-C does (graceful shutdown), killing it if that takes too long."""
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture
def serve(tmp_path, monkeypatch):
    """Starts `tenantlink serve` (call it again on the same data directory to restart: stop the
    previous one first); every process it started is stopped at the end."""
    started = []

    def start(data_dir=None, env=None, config_file=None):
        data_dir = data_dir or tmp_path / "data"
        server = Serve(data_dir, tmp_path / f"serve-{len(started)}.log", env or {}, config_file)
        started.append(server)
        # As in `sandbox`: requests honours these over a session's `verify`.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.sandbox.ca_file)
        monkeypatch.setenv("CURL_CA_BUNDLE", server.sandbox.ca_file)
        return server

    yield start
    for server in started:
        server.stop()


class Portal:
    """The portal's API as the bootstrap administrator, signed in through the sign-in form
    (session cookie; the CSRF token of /api/v1/me on every change)."""

    def __init__(self, server, username="admin", password=SERVE_ADMIN_PASSWORD):
        self.server = server
        self.base = server.base
        self.credentials = (username, password)
        self.sign_in()

    def sign_in(self):
        import re

        username, password = self.credentials
        self.http = requests.Session()
        form = self.http.get(f"{self.base}/login")
        assert form.status_code == 200, form.text
        csrf = re.search(r'name="csrf" value="([^"]*)"', form.text).group(1)
        signed_in = self.http.post(
            f"{self.base}/login",
            data={"csrf": csrf, "username": username, "password": password},
            allow_redirects=False,
        )
        assert signed_in.status_code == 303, signed_in.text
        me = self.http.get(f"{self.base}/api/v1/me")
        assert me.status_code == 200, me.text
        self.csrf = me.json()["csrf_token"]

    def request(self, method, path, body=None, expect=None):
        response = self._send(method, path, body)
        if response.status_code == 401:
            # A session ends on the service's clock, which a test may move by weeks: sign in
            # again (once) as the administrator would.
            self.sign_in()
            response = self._send(method, path, body)
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        else:
            assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def _send(self, method, path, body):
        headers = {} if method == "GET" else {"x-csrf-token": self.csrf}
        return self.http.request(method, f"{self.base}{path}", json=body, headers=headers)

    def get(self, path):
        return self.request("GET", path)

    def first_organization(self):
        return self.get("/api/v1/organizations")["rows"][0]["id"]

    def certificate(self, organization):
        return self.get(f"/api/v1/organizations/{organization}/certificate")

    def wait_for_operation(self, operation, done, timeout=90):
        """Reads the operation until `done` holds: the service learns of the device sign-in from
        its own poll of the token endpoint, so this waits on that event, within a deadline."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            op = self.get(f"/api/v1/operations/{operation}")
            if done(op):
                return op
            assert time.monotonic() < deadline, f"operation never reached the expected step: {op}"
            time.sleep(0.2)

    def generate_certificate(self, organization):
        """Generate, with the device sign-in approved on the sandbox as the tenant's
        administrator would; returns the finished operation."""
        op = self.request(
            "POST", f"/api/v1/organizations/{organization}/operations", {"kind": "generate"}, expect=201
        )
        sandbox = self.server.sandbox
        admin = next(u for u in sandbox.info["users"] if u["roles"])
        sandbox.control("/device/approve", {"user_code": op["sign_in"]["user_code"], "username": admin["username"]})
        signed_in = self.wait_for_operation(op["id"], lambda o: o["step"] != "awaiting_sign_in")
        assert signed_in["step"] == "signed_in", signed_in
        self.request("POST", f"/api/v1/operations/{op['id']}/generate", {}, expect=202)
        done = self.wait_for_operation(op["id"], lambda o: o["step"] in ("succeeded", "failed", "cancelled"))
        assert done["step"] == "succeeded", done
        return done


class WebhookReceiver:
    """A local HTTP endpoint that verifies every request with the Standard Webhooks library and
    keeps what it got: `verified` (payload, headers, body), `refused` (answered 500 on purpose,
    or failing verification). `secret` is the endpoint's, set once the API has shown it;
    `fail_next(n)` answers 500 to the next n requests."""

    def __init__(self):
        import http.server
        import threading

        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        self.secret = None
        self.verified = []
        self.refused = []
        self.lock = threading.Lock()
        self._failures_left = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    failing = receiver._failures_left > 0
                    if failing:
                        receiver._failures_left -= 1
                if failing:
                    receiver._keep(receiver.refused, {"reason": "told to fail", "headers": headers, "body": body})
                    return self._answer(500)
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                except WebhookVerificationError as err:
                    receiver._keep(receiver.refused, {"reason": str(err), "headers": headers, "body": body})
                    return self._answer(400)
                receiver._keep(receiver.verified, {"payload": payload, "headers": headers, "body": body})
                self._answer(204)

            def _answer(self, status):
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _keep(self, into, record):
        with self.lock:
            into.append(record)

    def fail_next(self, n):
        with self.lock:
            self._failures_left = n

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


class SmtpInbox:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it accepts, parsed."""

    def __init__(self):
        import email
        import email.policy
        import threading

        from aiosmtpd.controller import Controller

        self.messages = []
        self.lock = threading.Lock()
        inbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                with inbox.lock:
                    inbox.messages.append({"to": list(envelope.rcpt_tos), "message": message})
                return "250 OK"

        # The controller checks it is up by connecting to its port, so it needs a real one.
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


@pytest.fixture
def smtp_inbox():
    inbox = SmtpInbox()
    yield inbox
    inbox.stop()
