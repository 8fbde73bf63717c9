"""MSAL Python's authorization code flow (PKCE) against the sandbox's /authorize and sign-in
page, and its device flow against a tenant whose Conditional Access blocks device codes."""

import base64
import json
import re
from urllib.parse import parse_qs, urlparse

import msal
import requests

REDIRECT_URI = "http://localhost:8400/oauth/callback"
SCOPES = ["https://graph.microsoft.com/Application.ReadWrite.All"]


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def public_client(sandbox):
    return msal.PublicClientApplication(
        sandbox.info["public_client_id"],
        authority=sandbox.tenant_authority,
        instance_discovery=False,
        verify=sandbox.ca_file,
    )


def sign_in(sandbox, auth_uri, username, password, action="accept"):
    """Follows auth_uri like a browser: the sign-in page, its form, and the redirect's query."""
    browser = requests.Session()
    browser.verify = sandbox.ca_file
    page = browser.get(auth_uri, allow_redirects=False)
    assert page.status_code == 200, page.text
    form_action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    ticket = re.search(r'name="ticket" value="([^"]+)"', page.text).group(1)
    answer = browser.post(
        f"{sandbox.authority}{form_action}",
        data={"ticket": ticket, "username": username, "password": password, "action": action},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {key: values[0] for key, values in parse_qs(urlparse(location).query).items()}


def test_auth_code_flow_with_pkce_completes(sandbox):
    app = public_client(sandbox)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    assert "code_challenge=" in flow["auth_uri"] and "code_challenge_method=S256" in flow["auth_uri"]
    admin = sandbox.user("Global Administrator")
    auth_response = sign_in(sandbox, flow["auth_uri"], admin["username"], admin["password"])
    assert auth_response["state"] == flow["state"]

    result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    assert "access_token" in result, result
    assert claims(result["access_token"])["scp"] == "Application.ReadWrite.All"
    # MSAL checked the nonce it sent against the id_token's before answering.
    assert result["id_token_claims"]["preferred_username"] == admin["username"]
    assert "refresh_token" in result

    # The same code a second time is refused as already redeemed.
    again = public_client(sandbox).acquire_token_by_auth_code_flow(flow, auth_response)
    assert again.get("error") == "invalid_grant", again
    assert "AADSTS54005" in again["error_description"], again


def test_auth_code_flow_cancelled_is_access_denied(sandbox):
    app = public_client(sandbox)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    auth_response = sign_in(sandbox, flow["auth_uri"], "", "", action="cancel")
    result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    assert result.get("error") == "access_denied", result
    assert result["error_description"].startswith("AADSTS65004"), result


def test_auth_code_flow_with_a_tampered_state_is_refused_by_msal(sandbox):
    app = public_client(sandbox)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    admin = sandbox.user("Global Administrator")
    auth_response = sign_in(sandbox, flow["auth_uri"], admin["username"], admin["password"])
    auth_response["state"] = "someone-else"
    try:
        result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    except ValueError as refused:
        assert "state" in str(refused).lower()
    else:
        raise AssertionError(f"MSAL accepted a mismatched state: {result}")


def test_device_flow_fails_with_the_conditional_access_error_when_blocked(sandbox):
    sandbox.control("/tenant/conditional_access", {"block_device_code_flow": True})
    app = public_client(sandbox)
    flow = app.initiate_device_flow(scopes=SCOPES)
    assert "user_code" in flow, flow
    admin = sandbox.user("Global Administrator")["username"]
    refused = sandbox.http.post(
        f"{sandbox.info['control_base']}/device/approve",
        json={"user_code": flow["user_code"], "username": admin},
        headers=sandbox.control_headers,
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "blocked_by_conditional_access"
    result = app.acquire_token_by_device_flow(flow)
    assert result.get("error") == "invalid_grant", result
    assert 53003 in result["error_codes"], result

    # Blocked at the request instead: MSAL gets the error from initiate_device_flow.
    sandbox.control("/tenant/conditional_access", {"device_code_block_at": "request"})
    flow = public_client(sandbox).initiate_device_flow(scopes=SCOPES)
    assert "user_code" not in flow, flow
    assert flow.get("error") == "invalid_grant" and 53003 in flow["error_codes"], flow
