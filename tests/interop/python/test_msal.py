"""MSAL Python and azure-identity, unmodified, against the sandbox tenant."""

import base64
import json

import msal
import pytest

from conftest import GRAPH_DEFAULT, Certificate


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def confidential(sandbox, credential):
    # A fresh application object per case: MSAL replays identical failed requests from its cache.
    return msal.ConfidentialClientApplication(
        sandbox.info["backup_app"]["app_id"],
        client_credential=credential,
        authority=sandbox.tenant_authority,
        instance_discovery=False,
        verify=sandbox.ca_file,
    )


def test_device_flow_approved_through_the_control_api(sandbox):
    app = msal.PublicClientApplication(
        sandbox.info["public_client_id"],
        authority=sandbox.tenant_authority,
        instance_discovery=False,
        verify=sandbox.ca_file,
    )
    flow = app.initiate_device_flow(scopes=["https://graph.microsoft.com/User.Read"])
    assert len(flow["user_code"]) == 9
    assert flow["message"].endswith(f"enter the code {flow['user_code']} to authenticate.")
    user = sandbox.user(None)["username"]
    sandbox.control("/device/approve", {"user_code": flow["user_code"], "username": user})
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == user
    assert claims(result["access_token"])["scp"] == "User.Read"
    assert "refresh_token" in result
    # The refresh token works through MSAL's silent path.
    account = app.get_accounts(username=user)[0]
    silent = app.acquire_token_silent(["https://graph.microsoft.com/User.Read"], account=account, force_refresh=True)
    assert silent and "access_token" in silent, silent


def test_device_flow_declined_stops_msal(sandbox):
    app = msal.PublicClientApplication(
        sandbox.info["public_client_id"], authority=sandbox.tenant_authority, instance_discovery=False, verify=sandbox.ca_file
    )
    flow = app.initiate_device_flow(scopes=["https://graph.microsoft.com/User.Read"])
    sandbox.control("/device/decline", {"user_code": flow["user_code"]})
    result = app.acquire_token_by_device_flow(flow)
    assert result["error"] == "authorization_declined", result


def test_certificate_with_thumbprint_rs256_x5t(sandbox, certificate):
    sandbox.attach(certificate)
    app = confidential(sandbox, {"private_key": certificate.key_pem, "thumbprint": certificate.sha1_hex})
    result = app.acquire_token_for_client([GRAPH_DEFAULT])
    assert "access_token" in result, result
    token_claims = claims(result["access_token"])
    assert token_claims["appid"] == sandbox.info["backup_app"]["app_id"]
    assert "Application.ReadWrite.OwnedBy" in token_claims["roles"]
    # The app-only token works on Graph for the app's own registration.
    response = sandbox.graph(
        "GET", f"/applications(appId='{sandbox.info['backup_app']['app_id']}')?$select=keyCredentials", result["access_token"]
    )
    assert response.status_code == 200, response.text
    assert response.json()["keyCredentials"][0]["key"] == certificate.graph_key()


def test_certificate_from_pfx_ps256_x5t_s256(sandbox, certificate):
    sandbox.attach(certificate)
    app = confidential(
        sandbox, {"private_key_pfx_path": str(certificate.pfx_path), "passphrase": certificate.pfx_password}
    )
    result = app.acquire_token_for_client([GRAPH_DEFAULT])
    assert "access_token" in result, result


def test_azure_identity_certificate_credential(sandbox, certificate, monkeypatch):
    from azure.identity import CertificateCredential

    # azure-identity's own transport honours `connection_verify` without help from the environment.
    monkeypatch.delenv("CURL_CA_BUNDLE")

    sandbox.attach(certificate)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    credential = CertificateCredential(
        sandbox.tenant_id,
        sandbox.info["backup_app"]["app_id"],
        certificate_path=str(certificate.pem_path),
        authority=sandbox.authority,
        disable_instance_discovery=True,
        connection_verify=sandbox.ca_file,
    )
    token = credential.get_token(GRAPH_DEFAULT)
    assert claims(token.token)["appid"] == sandbox.info["backup_app"]["app_id"]


def test_azure_identity_reads_pfx(sandbox, certificate):
    from azure.identity import CertificateCredential

    sandbox.attach(certificate)
    credential = CertificateCredential(
        sandbox.tenant_id,
        sandbox.info["backup_app"]["app_id"],
        certificate_path=str(certificate.pfx_path),
        password=certificate.pfx_password,
        authority=sandbox.authority,
        disable_instance_discovery=True,
        connection_verify=sandbox.ca_file,
    )
    assert credential.get_token(GRAPH_DEFAULT).token


@pytest.mark.parametrize("shape", ["thumbprint", "pfx"])
def test_expired_key_gives_700027_with_entra_description(sandbox, tmp_path, shape):
    certificate = Certificate(tmp_path, name="short", days=2)
    sandbox.attach(certificate)
    sandbox.advance_clock(3 * 24 * 3600)
    credential = (
        {"private_key": certificate.key_pem, "thumbprint": certificate.sha1_hex}
        if shape == "thumbprint"
        else {"private_key_pfx_path": str(certificate.pfx_path), "passphrase": certificate.pfx_password}
    )
    result = confidential(sandbox, credential).acquire_token_for_client([GRAPH_DEFAULT])
    assert result.get("error") == "invalid_client", result
    assert result["error_codes"] == [700027]
    description = result["error_description"]
    assert description.startswith(
        "AADSTS700027: The certificate with identifier used to sign the client assertion is expired on application. "
        "[Reason - The key used is expired., Thumbprint of key used by client: '"
    ), description
    assert "Found key 'Start=" in description
    assert "\r\nTrace ID: " in description and "\r\nCorrelation ID: " in description


def test_unregistered_certificate_gives_key_not_found(sandbox, certificate, tmp_path):
    sandbox.attach(certificate)
    other = Certificate(tmp_path, name="other")
    result = confidential(sandbox, {"private_key": other.key_pem, "thumbprint": other.sha1_hex}).acquire_token_for_client(
        [GRAPH_DEFAULT]
    )
    assert result["error_codes"] == [700027], result
    assert f"Thumbprint of key used by client: '{other.sha1_hex}'" in result["error_description"]
