"""Checks a tenantlink client assertion with third-party code.

Reads JSON on stdin: {"cert_pem", "key_pem", "aud", "client_id", "assertions": {"RS256": jwt, "PS256": jwt}}.
For each algorithm: verifies tenantlink's token with PyJWT and the certificate's public key, and
builds the assertion MSAL Python would send for the same certificate (with the same
JwtAssertionCreator parameters MSAL's ConfidentialClientApplication uses), then reports both
tokens' header fields and claim names. Prints JSON on stdout.
"""
import hashlib
import json
import sys

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from msal.oauth2cli.assertion import JwtAssertionCreator


def main():
    spec = json.load(sys.stdin)
    cert = x509.load_pem_x509_certificate(spec["cert_pem"].encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    public_key = cert.public_key()
    report = {}
    for alg, token in spec["assertions"].items():
        claims = jwt.decode(
            token,
            key=public_key,
            algorithms=[alg],
            audience=spec["aud"],
            issuer=spec["client_id"],
            options={"require": ["exp", "iat", "nbf", "jti", "iss", "sub", "aud"]},
        )
        if claims["sub"] != spec["client_id"]:
            raise SystemExit(f"{alg}: sub {claims['sub']!r} is not the client id")
        # application.py: RS256 + SHA-1 thumbprint, or PS256 + SHA-256 thumbprint.
        if alg == "RS256":
            params = {"algorithm": "RS256", "sha1_thumbprint": hashlib.sha1(der).hexdigest()}
        else:
            params = {"algorithm": "PS256", "sha256_thumbprint": hashlib.sha256(der).hexdigest()}
        msal_token = JwtAssertionCreator(spec["key_pem"], **params).create_normal_assertion(
            audience=spec["aud"], issuer=spec["client_id"]
        ).decode()
        msal_header = jwt.get_unverified_header(msal_token)
        msal_claims = jwt.decode(msal_token, key=public_key, algorithms=[alg], audience=spec["aud"])
        ours_header = jwt.get_unverified_header(token)
        report[alg] = {
            "verified_by_pyjwt": True,
            "ours_header": ours_header,
            "msal_header": msal_header,
            "ours_claims": sorted(claims),
            "msal_claims": sorted(msal_claims),
            "ours_lifetime": claims["exp"] - claims["iat"],
            "msal_lifetime": msal_claims["exp"] - msal_claims["iat"],
        }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
