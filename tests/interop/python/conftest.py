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
