#!/usr/bin/env python3
"""Writes every PKCS#12 variant tenantlink must import, and every bad input it must refuse.

Usage:  python scripts/make-test-pfx.py OUT_DIR
        (use the test venv: .venv/bin/python, or $TENANTLINK_PYTHON)

Needs python `cryptography` and the `openssl` 3 CLI. Fixtures come from three independent
producers, so tenantlink is judged against real exporters rather than against itself:
  * the `openssl` CLI (OpenSSL 3 defaults, -legacy, NONE encryption, -nomac, -nokeys, ...);
  * python `cryptography`'s PKCS#12 encryption builder (Windows-like "TripleDES-SHA1" and
    "AES256-SHA256" exports, certificates with chosen validity and key types);
  * a small DER builder below, for layouts no CLI writes on request (MAC keyed with an absent
    password as Java writes, PBES2 with the hmacWithSHA1 PRF, bags without attributes, a key that
    does not match the certificate, iteration counts of 20,000,000). Its MACs use the RFC 7292
    appendix B key derivation implemented below; `openssl pkcs12 -info` reads these files.

OUT_DIR/manifest.json (the interface the Rust and CLI tests rely on; keep it stable):
{
  "version": 1,
  "generated_at": "<RFC 3339 UTC>",
  "files": [
    {
      "file": "openssl3_default.pfx",     # name inside OUT_DIR
      "description": "...",
      "format": "pkcs12" | "pem" | "der", # what the bytes really are
      "password": "secret" | "" | null,   # what to pass (null: no password at all);
                                          # for wrong-password cases this is the WRONG one
      "correct_password": "..." | null,   # the password the file was really made with, if any
      "expect": "ok" | "<error kind>",    # outcome of importing it as a PKCS#12 credential
      "inspect_expect": "ok" | "<error kind>",  # first problem `inspect` reports (PEM/DER are
                                          # inspected as certificates, not as PKCS#12)
      "sha1": "40 upper-case hex" | null, # leaf thumbprint from `openssl x509 -fingerprint -sha1`
      "sha256": "64 upper-case hex" | null,
      "chain_len": 2 | null,              # certificates in the file, leaf included
      "key_type": "rsa" | "ec" | "ed25519" | null,
      "key_bits": 2048 | null
    }, ...
  ]
}
Error kinds are those of tenantlink_certificate::ImportError::kind().
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.hazmat.primitives.serialization.pkcs12 import PBES
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PASSWORD = "correct horse 42"
NON_ASCII_PASSWORD = "pässwörd-日本-Ω"
NON_BMP_PASSWORD = "key-\U0001F511"  # outside the BMP: UTF-16 surrogate pair in the MAC KDF
WRONG_PASSWORD = "not the password"
HUGE_ITERATIONS = 20_000_000

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


# ---------------------------------------------------------------- keys and certificates

def rsa_key(bits: int = 2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def certificate(key, cn: str, not_before=None, not_after=None, issuer=None, is_ca=False):
    """Self-signed unless issuer=(issuer_cert, issuer_key)."""
    not_before = not_before or NOW - datetime.timedelta(minutes=5)
    not_after = not_after or NOW + datetime.timedelta(days=365)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer_name, signing_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if not is_ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    algorithm = None if isinstance(signing_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(signing_key, algorithm)


def pem_cert(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def der_cert(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def der_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# ---------------------------------------------------------------- openssl CLI

class Work:
    def __init__(self, directory: Path):
        self.dir = directory
        self.count = 0

    def file(self, content: bytes, suffix: str) -> Path:
        self.count += 1
        path = self.dir / f"w{self.count}{suffix}"
        path.write_bytes(content)
        return path


def openssl(*args: str) -> bytes:
    done = subprocess.run(["openssl", *args], capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"openssl {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def openssl_export(work: Work, key, certs, password: str | None, *extra: str) -> bytes:
    """`openssl pkcs12 -export`; certs[0] is given with -in, the rest with -certfile."""
    out = work.dir / f"export{work.count}.pfx"
    args = ["pkcs12", "-export", "-out", str(out), "-in", str(work.file(pem_cert(certs[0]), ".pem"))]
    if key is not None:
        args += ["-inkey", str(work.file(pem_key(key), ".key"))]
    if len(certs) > 1:
        args += ["-certfile", str(work.file(b"".join(pem_cert(c) for c in certs[1:]), ".pem"))]
    args += ["-passout", f"pass:{password or ''}", *extra]
    openssl(*args)
    return out.read_bytes()


def fingerprints(work: Work, cert) -> tuple[str, str]:
    """Thumbprints as `openssl x509 -fingerprint` prints them, colons removed."""
    path = work.file(pem_cert(cert), ".pem")
    result = []
    for digest in ("-sha1", "-sha256"):
        line = openssl("x509", "-in", str(path), "-noout", "-fingerprint", digest).decode().strip()
        result.append(line.split("=", 1)[1].replace(":", "").upper())
    return result[0], result[1]


# ---------------------------------------------------------------- minimal DER + PKCS#12 builder

def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _len(len(content)) + content


def seq(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def set_of(*items: bytes) -> bytes:
    return tlv(0x31, b"".join(sorted(items)))


def octets(data: bytes) -> bytes:
    return tlv(0x04, data)


def explicit0(content: bytes) -> bytes:
    return tlv(0xA0, content)


def integer(n: int) -> bytes:
    body = n.to_bytes(n.bit_length() // 8 + 1, "big")
    return tlv(0x02, body)


def oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))


NULL = b"\x05\x00"
OID_DATA = "1.2.840.113549.1.7.1"
OID_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
OID_PBE_SHA1_3DES = "1.2.840.113549.1.12.1.3"
OID_PBE_SHA1_RC2_40 = "1.2.840.113549.1.12.1.6"
OID_KEY_BAG = "1.2.840.113549.1.12.10.1.1"
OID_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
OID_CERT_BAG = "1.2.840.113549.1.12.10.1.3"
OID_X509_CERT = "1.2.840.113549.1.9.22.1"
OID_LOCAL_KEY_ID = "1.2.840.113549.1.9.21"
OID_FRIENDLY_NAME = "1.2.840.113549.1.9.20"
OID_PBES2 = "1.2.840.113549.1.5.13"
OID_PBKDF2 = "1.2.840.113549.1.5.12"
OID_HMAC_SHA256 = "1.2.840.113549.2.9"
OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"
OID_SCRYPT = "1.3.6.1.4.1.11591.4.11"
MAC_DIGESTS = {"sha1": "1.3.14.3.2.26", "sha256": "2.16.840.1.101.3.4.2.1"}


def bag_attributes(local_key_id: bytes | None, name: str | None) -> bytes:
    attributes = []
    if local_key_id is not None:
        attributes.append(seq(oid(OID_LOCAL_KEY_ID), set_of(octets(local_key_id))))
    if name is not None:
        attributes.append(seq(oid(OID_FRIENDLY_NAME), set_of(tlv(0x1E, name.encode("utf-16-be")))))
    return set_of(*attributes) if attributes else b""


def cert_bag(cert_der: bytes, local_key_id=None, name=None) -> bytes:
    value = explicit0(seq(oid(OID_X509_CERT), explicit0(octets(cert_der))))
    return seq(oid(OID_CERT_BAG), value, bag_attributes(local_key_id, name))


def key_bag(pkcs8_der: bytes, local_key_id=None, name=None) -> bytes:
    return seq(oid(OID_KEY_BAG), explicit0(pkcs8_der), bag_attributes(local_key_id, name))


def shrouded_key_bag(encrypted_pkcs8_der: bytes, local_key_id=None, name=None) -> bytes:
    return seq(oid(OID_SHROUDED_KEY_BAG), explicit0(encrypted_pkcs8_der), bag_attributes(local_key_id, name))


def data_safe(*bags: bytes) -> bytes:
    return seq(oid(OID_DATA), explicit0(octets(seq(*bags))))


def pkcs12_kdf(digest: str, password: bytes, salt: bytes, purpose: int, iterations: int, size: int) -> bytes:
    """RFC 7292 appendix B.2. `password` is already BMP-encoded (or empty for an absent one)."""
    u = hashlib.new(digest).digest_size
    v = hashlib.new(digest).block_size

    def stretch(data: bytes) -> bytes:
        if not data:
            return b""
        length = v * ((len(data) + v - 1) // v)
        return (data * (length // len(data) + 1))[:length]

    diversifier = bytes([purpose]) * v
    i = bytearray(stretch(salt) + stretch(password))
    out = b""
    while len(out) < size:
        a = hashlib.new(digest, diversifier + bytes(i)).digest()
        for _ in range(iterations - 1):
            a = hashlib.new(digest, a).digest()
        out += a
        b = int.from_bytes(stretch(a)[:v] if len(a) < v else a[:v], "big")
        for j in range(0, len(i), v):
            block = (int.from_bytes(i[j : j + v], "big") + b + 1) % (1 << (8 * v))
            i[j : j + v] = block.to_bytes(v, "big")
    assert u > 0
    return out[:size]


def bmp_password(text: str | None) -> bytes:
    """None is the absent (NULL) password: zero bytes, no terminator."""
    return b"" if text is None else text.encode("utf-16-be") + b"\x00\x00"


def pfx(safes: list[bytes], mac: dict | None) -> bytes:
    """mac: {"digest": "sha1"|"sha256", "password": str|None, "iterations": n, "fake": bool}"""
    auth_safe = seq(*safes)
    parts = [integer(3), seq(oid(OID_DATA), explicit0(octets(auth_safe)))]
    if mac is not None:
        digest = mac["digest"]
        salt = os.urandom(8)
        size = hashlib.new(digest).digest_size
        if mac.get("fake"):
            # Never computed: the reader must refuse the iteration count before deriving a key.
            tag = os.urandom(size)
        else:
            key = pkcs12_kdf(digest, bmp_password(mac["password"]), salt, 3, mac["iterations"], size)
            tag = hmac.new(key, auth_safe, digest).digest()
        parts.append(
            seq(
                seq(seq(oid(MAC_DIGESTS[digest]), NULL), octets(tag)),
                octets(salt),
                integer(mac["iterations"]),
            )
        )
    return seq(*parts)


def children(der: bytes) -> list[tuple[int, int, int]]:
    """(start, content_start, end) of each element inside one constructed DER value."""
    def header(pos: int) -> tuple[int, int]:
        length = der[pos + 1]
        if length < 0x80:
            return pos + 2, length
        n = length & 0x7F
        return pos + 2 + n, int.from_bytes(der[pos + 2 : pos + 2 + n], "big")

    content, length = header(0)
    out, pos = [], content
    while pos < content + length:
        start, size = header(pos)
        out.append((pos, start, start + size))
        pos = start + size
    return out


def flip_mac_digest(pfx_der: bytes) -> bytes:
    """Damages one byte of the MAC value, leaving everything else intact."""
    mac_data = children(pfx_der)[2]
    mac_der = pfx_der[mac_data[0] : mac_data[2]]
    digest_info = children(mac_der)[0]
    digest_info_der = mac_der[digest_info[0] : digest_info[2]]
    digest = children(digest_info_der)[1]
    position = mac_data[0] + digest_info[0] + digest[1]
    damaged = bytearray(pfx_der)
    damaged[position] ^= 0x01
    return bytes(damaged)


def pkcs12_pbe_encrypt(algorithm: str, password: str | None, plaintext: bytes, iterations: int = 2048) -> tuple[bytes, bytes]:
    """PKCS#12 PBE (RFC 7292 appendix C) as Java and OpenSSL 1.x write it.
    Returns (AlgorithmIdentifier DER, ciphertext)."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import RC2, TripleDES
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    salt = os.urandom(8)
    pass_bytes = bmp_password(password)
    if algorithm == "3des":
        oid_text, key_len, cipher = OID_PBE_SHA1_3DES, 24, TripleDES
    else:
        oid_text, key_len, cipher = OID_PBE_SHA1_RC2_40, 5, RC2
    key = pkcs12_kdf("sha1", pass_bytes, salt, 1, iterations, key_len)
    iv = pkcs12_kdf("sha1", pass_bytes, salt, 2, iterations, 8)
    if cipher is RC2:
        # cryptography's RC2 takes only 128-bit keys; the openssl CLI does RC2-40 (legacy provider).
        ciphertext = subprocess.run(
            ["openssl", "enc", "-rc2-40-cbc", "-K", key.hex(), "-iv", iv.hex(),
             "-provider", "legacy", "-provider", "default"],
            input=plaintext, capture_output=True, check=True).stdout
    else:
        padder = padding.PKCS7(64).padder()
        padded = padder.update(plaintext) + padder.finalize()
        encryptor = Cipher(cipher(key), modes.CBC(iv)).encryptor()
        ciphertext = encryptor.update(padded) + encryptor.finalize()
    return seq(oid(oid_text), seq(octets(salt), integer(iterations))), ciphertext


def encrypted_safe(algorithm: str, password: str | None, *bags: bytes) -> bytes:
    algorithm_id, ciphertext = pkcs12_pbe_encrypt(algorithm, password, seq(*bags))
    encrypted_data = seq(integer(0), seq(oid(OID_DATA), algorithm_id, tlv(0x80, ciphertext)))
    return seq(oid(OID_ENCRYPTED_DATA), explicit0(encrypted_data))


def pbe_shrouded_key(algorithm: str, password: str | None, pkcs8_der: bytes) -> bytes:
    algorithm_id, ciphertext = pkcs12_pbe_encrypt(algorithm, password, pkcs8_der)
    return seq(algorithm_id, octets(ciphertext))


# ---------------------------------------------------------------- the fixtures

def scrypt_algorithm(salt: bytes, iv: bytes, n: int, r: int, p: int) -> bytes:
    """PBES2 with scrypt (RFC 7914 scrypt-params, with the 32-byte key length) and AES-256-CBC."""
    kdf = seq(oid(OID_SCRYPT), seq(octets(salt), integer(n), integer(r), integer(p), integer(32)))
    return seq(oid(OID_PBES2), seq(kdf, seq(oid(OID_AES256_CBC), octets(iv))))


def scrypt_shrouded_key(password: str, pkcs8_der: bytes, n: int, r: int, p: int) -> bytes:
    """A shrouded key bag really encrypted with scrypt and AES-256-CBC."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    salt, iv = os.urandom(16), os.urandom(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r * p + (1 << 20), dklen=32)
    padder = padding.PKCS7(128).padder()
    plaintext = padder.update(pkcs8_der) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return shrouded_key_bag(seq(scrypt_algorithm(salt, iv, n, r, p), octets(ciphertext)))


def hostile_scrypt_key(n: int, r: int, p: int) -> bytes:
    """A shrouded key bag whose scrypt parameters are refused before anything derives a key:
    the ciphertext is random, as nothing ever decrypts it."""
    return shrouded_key_bag(seq(scrypt_algorithm(os.urandom(16), os.urandom(16), n, r, p), octets(os.urandom(1232))))


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Work(Path(scratch))

        key = rsa_key()
        cert = certificate(key, "tenantlink fixture")
        sha1, sha256 = fingerprints(work, cert)

        def add(name, data, *, description, password, expect, inspect_expect=None, leaf=cert,
                correct_password="same", chain_len=1, fmt="pkcs12", key_type="rsa", key_bits=2048):
            (out_dir / name).write_bytes(data)
            if leaf is None:
                leaf_sha1 = leaf_sha256 = None
            elif leaf is cert:
                leaf_sha1, leaf_sha256 = sha1, sha256
            else:
                leaf_sha1, leaf_sha256 = fingerprints(work, leaf)
            entries.append({
                "file": name,
                "description": description,
                "format": fmt,
                "password": password,
                "correct_password": password if correct_password == "same" else correct_password,
                "expect": expect,
                "inspect_expect": inspect_expect or expect,
                "sha1": leaf_sha1,
                "sha256": leaf_sha256,
                "chain_len": chain_len,
                "key_type": key_type,
                "key_bits": key_bits,
            })

        # ---- point 3: variants that must import
        add("openssl3_default.pfx", openssl_export(work, key, [cert], PASSWORD),
            description="OpenSSL 3 defaults: PBES2 AES-256-CBC + PBKDF2-HMAC-SHA256, SHA-256 MAC",
            password=PASSWORD, expect="ok")
        add("openssl_legacy.pfx", openssl_export(work, key, [cert], PASSWORD, "-legacy"),
            description="OpenSSL -legacy (as OpenSSL 1.x): RC2-40 certificates, 3DES key, SHA-1 MAC",
            password=PASSWORD, expect="ok")
        windows_3des = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2000)
            .key_cert_algorithm(PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())
            .build(PASSWORD.encode())
        )
        add("windows_tripledes_sha1.pfx",
            pkcs12.serialize_key_and_certificates(b"tenantlink", key, cert, None, windows_3des),
            description='Windows "TripleDES-SHA1" export layout (3DES certs and key, SHA-1 MAC, 2000 rounds)',
            password=PASSWORD, expect="ok")
        windows_aes = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2000)
            .key_cert_algorithm(PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(PASSWORD.encode())
        )
        add("windows_aes256_sha256.pfx",
            pkcs12.serialize_key_and_certificates(b"tenantlink", key, cert, None, windows_aes),
            description='Windows "AES256-SHA256" export layout (PBES2 AES-256, SHA-256 MAC, 2000 rounds)',
            password=PASSWORD, expect="ok")
        add("empty_password.pfx", openssl_export(work, key, [cert], ""),
            description="encrypted with the empty password (not the same as no encryption)",
            password="", expect="ok")
        add("legacy_empty_password.pfx", openssl_export(work, key, [cert], "", "-legacy"),
            description="-legacy layout with the empty password, as Azure Key Vault and Windows "
                        "\"no password\" exports look",
            password="", expect="ok")
        add("unencrypted_mac.pfx",
            openssl_export(work, key, [cert], PASSWORD, "-certpbe", "NONE", "-keypbe", "NONE"),
            description="no encryption (-certpbe NONE -keypbe NONE), MAC keyed with a password",
            password=PASSWORD, expect="ok")
        add("unencrypted_nomac.pfx",
            openssl_export(work, key, [cert], None, "-certpbe", "NONE", "-keypbe", "NONE", "-nomac"),
            description="no encryption and no MAC at all",
            password=None, expect="ok")
        add("non_ascii_password.pfx", openssl_export(work, key, [cert], NON_ASCII_PASSWORD),
            description="OpenSSL 3 defaults with a non-ASCII password (BMPString in the MAC KDF)",
            password=NON_ASCII_PASSWORD, expect="ok")
        add("non_bmp_password.pfx", openssl_export(work, key, [cert], NON_BMP_PASSWORD),
            description="OpenSSL 3 defaults with a password outside the BMP (an emoji)",
            password=NON_BMP_PASSWORD, expect="ok")

        ca_key = rsa_key()
        ca_cert = certificate(ca_key, "tenantlink fixture CA", is_ca=True)
        chain_key = rsa_key()
        chain_leaf = certificate(chain_key, "tenantlink chained leaf", issuer=(ca_cert, ca_key))
        add("chain_ca_first.pfx",
            pkcs12.serialize_key_and_certificates(
                None, chain_key, None, [ca_cert, chain_leaf],
                serialization.BestAvailableEncryption(PASSWORD.encode())),
            description="CA certificate first, leaf last; key not linked by localKeyId",
            password=PASSWORD, expect="ok", leaf=chain_leaf, chain_len=2)
        add("chain_openssl.pfx", openssl_export(work, chain_key, [chain_leaf, ca_cert], PASSWORD),
            description="leaf plus CA from openssl -certfile (leaf first)",
            password=PASSWORD, expect="ok", leaf=chain_leaf, chain_len=2)
        add("no_attributes.pfx",
            pfx([data_safe(key_bag(der_key(key)), cert_bag(der_cert(cert)))],
                {"digest": "sha256", "password": PASSWORD, "iterations": 2048}),
            description="bags without friendlyName or localKeyId (hand-built), SHA-256 MAC",
            password=PASSWORD, expect="ok")
        add("friendly_names.pfx",
            pfx([data_safe(cert_bag(der_cert(cert), b"\x01\x02", "my certificate"),
                           key_bag(der_key(key), b"\x01\x02", "my key"))],
                {"digest": "sha1", "password": PASSWORD, "iterations": 2048}),
            description="friendly names and localKeyId present, certificate before key (hand-built)",
            password=PASSWORD, expect="ok")

        encrypted_key = openssl(
            "pkcs8", "-topk8", "-in", str(work.file(pem_key(key), ".key")), "-outform", "DER",
            "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1", "-passout", f"pass:{PASSWORD}")
        add("pbes2_hmac_sha1.pfx",
            pfx([data_safe(shrouded_key_bag(encrypted_key, b"\x01")), data_safe(cert_bag(der_cert(cert), b"\x01"))],
                {"digest": "sha1", "password": PASSWORD, "iterations": 2048}),
            description="key encrypted with PBES2 AES-256-CBC whose PBKDF2 PRF is hmacWithSHA1 (openssl pkcs8 -v2prf)",
            password=PASSWORD, expect="ok")
        add("null_password_mac.pfx",
            pfx([data_safe(key_bag(der_key(key)), cert_bag(der_cert(cert)))],
                {"digest": "sha1", "password": None, "iterations": 1024}),
            description="unencrypted bags, MAC computed with an absent (NULL) password as Java writes",
            password=None, expect="ok")

        add("null_password_encrypted.pfx",
            pfx([encrypted_safe("rc2", None, cert_bag(der_cert(cert), b"\x01")),
                 data_safe(shrouded_key_bag(pbe_shrouded_key("3des", None, der_key(key)), b"\x01"))],
                {"digest": "sha1", "password": None, "iterations": 2048}),
            description="RC2-40 certificates and 3DES key keyed with an absent (NULL) password, NULL-password MAC",
            password=None, expect="ok")
        add("null_password_encrypted_nomac.pfx",
            pfx([encrypted_safe("3des", None, cert_bag(der_cert(cert), b"\x01")),
                 data_safe(shrouded_key_bag(pbe_shrouded_key("3des", None, der_key(key)), b"\x01"))],
                None),
            description="3DES certificates and key keyed with an absent (NULL) password, no MAC",
            password=None, expect="ok")

        # ---- point 4: inputs that must be refused, each with its own kind
        add("wrong_password.pfx", openssl_export(work, key, [cert], PASSWORD),
            description="OpenSSL 3 defaults opened with the wrong password",
            password=WRONG_PASSWORD, correct_password=PASSWORD, expect="wrong_password")
        add("wrong_password_legacy.pfx", openssl_export(work, key, [cert], PASSWORD, "-legacy"),
            description="-legacy file opened with the wrong password",
            password=WRONG_PASSWORD, correct_password=PASSWORD, expect="wrong_password")
        add("wrong_password_nomac.pfx", openssl_export(work, key, [cert], PASSWORD, "-nomac"),
            description="AES-encrypted file without MAC opened with the wrong password",
            password=WRONG_PASSWORD, correct_password=PASSWORD, expect="wrong_password")
        add("password_missing.pfx", openssl_export(work, key, [cert], PASSWORD),
            description="password-protected file opened without a password",
            password=None, correct_password=PASSWORD, expect="password_required")
        add("mac_mismatch.pfx", flip_mac_digest(openssl_export(work, key, [cert], PASSWORD)),
            description="right password, but one byte of the MAC value altered",
            password=PASSWORD, expect="mac_mismatch")
        add("unsupported_algorithm.pfx",
            openssl_export(work, key, [cert], PASSWORD, "-legacy", "-certpbe", "PBE-SHA1-RC2-128"),
            description="certificates encrypted with PBE-SHA1-RC2-128, which tenantlink does not read",
            password=PASSWORD, expect="unsupported_algorithm")

        ec_key = ec.generate_private_key(ec.SECP256R1())
        ec_cert = certificate(ec_key, "tenantlink EC fixture")
        add("ec_key.pfx", openssl_export(work, ec_key, [ec_cert], PASSWORD),
            description="EC P-256 key: Entra ID accepts only RSA",
            password=PASSWORD, expect="not_rsa", leaf=ec_cert, key_type="ec", key_bits=256)
        ed_key = ed25519.Ed25519PrivateKey.generate()
        ed_cert = certificate(ed_key, "tenantlink Ed25519 fixture")
        add("ed25519_key.pfx", openssl_export(work, ed_key, [ed_cert], PASSWORD),
            description="Ed25519 key: Entra ID accepts only RSA",
            password=PASSWORD, expect="not_rsa", leaf=ed_cert, key_type="ed25519", key_bits=256)
        small_key = rsa_key(1024)
        small_cert = certificate(small_key, "tenantlink RSA-1024 fixture")
        add("rsa_1024.pfx", openssl_export(work, small_key, [small_cert], PASSWORD),
            description="RSA-1024: below Entra ID's 2048-bit minimum",
            password=PASSWORD, expect="rsa_too_small", leaf=small_cert, key_bits=1024)
        expired_cert = certificate(key, "tenantlink expired fixture",
                                   not_before=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
                                   not_after=datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc))
        add("expired.pfx", openssl_export(work, key, [expired_cert], PASSWORD),
            description="certificate expired on 2021-01-01",
            password=PASSWORD, expect="expired", leaf=expired_cert)
        future_cert = certificate(key, "tenantlink future fixture",
                                  not_before=NOW + datetime.timedelta(days=3650),
                                  not_after=NOW + datetime.timedelta(days=4000))
        add("not_yet_valid.pfx", openssl_export(work, key, [future_cert], PASSWORD),
            description="certificate valid only from ten years after generation",
            password=PASSWORD, expect="not_yet_valid", leaf=future_cert)
        add("no_private_key.pfx", openssl_export(work, None, [cert], PASSWORD, "-nokeys"),
            description="certificate only (-nokeys)",
            password=PASSWORD, expect="no_private_key")
        other_key = rsa_key()
        add("key_mismatch.pfx",
            pfx([data_safe(key_bag(der_key(other_key), b"\x01"), cert_bag(der_cert(cert), b"\x01"))],
                {"digest": "sha256", "password": PASSWORD, "iterations": 2048}),
            description="a private key that belongs to no certificate in the file",
            password=PASSWORD, expect="key_mismatch")

        good = openssl_export(work, key, [cert], PASSWORD)
        add("garbage.pfx", os.urandom(3000),
            description="random bytes", password=PASSWORD, expect="not_pkcs12", leaf=None,
            chain_len=None, key_type=None, key_bits=None)
        add("truncated.pfx", good[: len(good) // 2],
            description="the first half of a valid PFX", password=PASSWORD, expect="not_pkcs12",
            leaf=None, chain_len=None, key_type=None, key_bits=None)
        add("pem_as_pfx.pfx", pem_cert(cert) + pem_key(key),
            description="PEM certificate and key with a .pfx name: not PKCS#12, but inspect reads it",
            password=PASSWORD, expect="not_pkcs12", inspect_expect="ok", fmt="pem")
        add("certificate.cer", der_cert(cert),
            description="DER certificate: not PKCS#12 (no key); inspect accepts the certificate",
            password=None, expect="not_pkcs12", inspect_expect="ok", fmt="der")
        add("certificate.pem", pem_cert(cert),
            description="PEM certificate without key; inspect accepts the certificate",
            password=None, expect="not_pkcs12", inspect_expect="ok", fmt="pem")
        add("huge_iterations_mac.pfx",
            pfx([data_safe(key_bag(der_key(key)), cert_bag(der_cert(cert)))],
                {"digest": "sha256", "password": PASSWORD, "iterations": HUGE_ITERATIONS, "fake": True}),
            description=f"MAC iteration count {HUGE_ITERATIONS}: must be refused before any derivation",
            password=PASSWORD, expect="iterations_too_high", leaf=None)
        pbes2_params = seq(
            seq(oid(OID_PBKDF2), seq(octets(os.urandom(16)), integer(HUGE_ITERATIONS),
                                     seq(oid(OID_HMAC_SHA256), NULL))),
            seq(oid(OID_AES256_CBC), octets(os.urandom(16))))
        huge_key = seq(seq(oid(OID_PBES2), pbes2_params), octets(os.urandom(1232)))
        add("huge_iterations_kdf.pfx",
            pfx([data_safe(shrouded_key_bag(huge_key)), data_safe(cert_bag(der_cert(cert)))], None),
            description=f"PBKDF2 iteration count {HUGE_ITERATIONS} on the key, no MAC: refused before deriving",
            password=PASSWORD, expect="iterations_too_high", leaf=None)
        def pbes2_shrouded(iterations: int) -> bytes:
            params = seq(
                seq(oid(OID_PBKDF2), seq(octets(os.urandom(16)), integer(iterations),
                                         seq(oid(OID_HMAC_SHA256), NULL))),
                seq(oid(OID_AES256_CBC), octets(os.urandom(16))))
            return shrouded_key_bag(seq(seq(oid(OID_PBES2), params), octets(os.urandom(1232))))
        add("many_parts_iterations.pfx",
            pfx([data_safe(*[pbes2_shrouded(900_000) for _ in range(5)]), data_safe(cert_bag(der_cert(cert)))],
                {"digest": "sha256", "password": PASSWORD, "iterations": 900_000, "fake": True}),
            description="six derivations of 900,000 iterations each: every one under the per-part limit, "
                        "together over the per-file budget; refused before deriving",
            password=PASSWORD, expect="iterations_too_high", leaf=None)
        # ---- scrypt (PBES2 with RFC 7914 parameters): a typical file imports; costly ones are
        # refused by the pre-scan, each with its own kind. No tool writes N above 2^20 with r = 8.
        add("scrypt_n16384.pfx",
            pfx([data_safe(scrypt_shrouded_key(PASSWORD, der_key(key), 1 << 14, 8, 1), cert_bag(der_cert(cert)))],
                {"digest": "sha256", "password": PASSWORD, "iterations": 2048}),
            description="key under PBES2 scrypt N=2^14 r=8 p=1 (OpenSSL's -scrypt default) with AES-256-CBC",
            password=PASSWORD, expect="ok")
        add("scrypt_memory.pfx",
            pfx([data_safe(hostile_scrypt_key(1 << 21, 8, 1)), data_safe(cert_bag(der_cert(cert)))], None),
            description="scrypt N=2^21 r=8: 2 GiB for one derivation; refused before deriving",
            password=PASSWORD, expect="scrypt_memory_too_high", leaf=None)
        add("scrypt_parallel.pfx",
            pfx([data_safe(hostile_scrypt_key(1 << 20, 8, 16)), data_safe(cert_bag(der_cert(cert)))], None),
            description="scrypt N=2^20 r=8 p=16: 1 GiB at a time, sixteen times over; refused before deriving",
            password=PASSWORD, expect="scrypt_work_too_high", leaf=None)
        add("scrypt_many_parts.pfx",
            pfx([data_safe(*[hostile_scrypt_key(1 << 20, 8, 1) for _ in range(3)]), data_safe(cert_bag(der_cert(cert)))],
                None),
            description="three scrypt parts at N=2^20 r=8 p=1: each at the per-part limit, together over "
                        "the per-file budget; refused before deriving",
            password=PASSWORD, expect="scrypt_total_too_high", leaf=None)
        add("too_many_parts.pfx",
            pfx([data_safe(*[pbes2_shrouded(1) for _ in range(17)]), data_safe(cert_bag(der_cert(cert)))], None),
            description="seventeen encrypted parts, each cheap: more than any export has; refused before deriving",
            password=PASSWORD, expect="too_many_encrypted_parts", leaf=None)
        flood_part = hostile_scrypt_key(1 << 20, 8, 1)
        add("scrypt_flood.pfx",
            pfx([data_safe(*[flood_part] * ((1000 * 1000) // len(flood_part)))], None),
            description="1 MB of scrypt parts at N=2^20 r=8 p=1 (1 GiB and seconds each, hours together); "
                        "refused before deriving",
            password=PASSWORD, expect="too_many_encrypted_parts", leaf=None)
        add("too_large.pfx", good + os.urandom(1024 * 1024 + 1 - len(good)),
            description="1 MiB + 1 byte: refused before parsing",
            password=PASSWORD, expect="too_large", leaf=None, chain_len=None, key_type=None, key_bits=None)

    manifest = {
        "version": 1,
        "generated_at": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": entries,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__.split("\n\n")[1])
    main(Path(sys.argv[1]))
