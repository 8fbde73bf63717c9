"""A real SMTP server for tests (aiosmtpd), started by tenantlink-test-support's SmtpServer.

Usage: smtp_server.py OUT_DIR MODE [--user NAME] [--cert PEM --key PEM]
MODE is plain, starttls (STARTTLS required before MAIL) or tls (TLS from the first byte).
With --user, AUTH is required and the password is $SMTP_TEST_PASSWORD.

Listens on a free loopback port, prints that port on one line once it accepts connections, and
writes each accepted message as OUT_DIR/NNNN.json (written under another name, then renamed, so a
reader never sees half a file) before answering 250: once the client's send returns, the file is
there.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import socket
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = [
            {"content_type": part.get_content_type(), "content": part.get_content()}
            for part in message.walk()
            if not part.is_multipart()
        ]
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "authenticated_as": session.auth_data if session.authenticated else None,
            "tls": session.ssl is not None
            or server.transport.get_extra_info("sslcontext") is not None,
            "content_type": message.get_content_type(),
            "subject": str(message["subject"]),
            "from": str(message["from"]),
            "to": str(message["to"]),
            "parts": parts,
            "raw": raw.decode("utf-8", "replace"),
        }
        self.count += 1
        name = os.path.join(self.out_dir, "%04d.json" % self.count)
        with open(name + ".tmp", "w") as f:
            json.dump(record, f)
        os.replace(name + ".tmp", name)
        return "250 OK"


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user
            and auth_data.password == self.password
        )
        return AuthResult(success=ok, handled=False, auth_data=self.user.decode() if ok else None)


async def serve(args):
    context = None
    if args.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    authenticator = None
    if args.user:
        authenticator = Authenticator(args.user, os.environ["SMTP_TEST_PASSWORD"])
    handler = Recorder(args.out_dir)

    def factory():
        return SMTP(
            handler,
            hostname="localhost",
            tls_context=context if args.mode == "starttls" else None,
            require_starttls=args.mode == "starttls",
            authenticator=authenticator,
            auth_required=authenticator is not None,
            # Implicit TLS is invisible to aiosmtpd's check (it looks for STARTTLS only), so
            # only STARTTLS mode requires it; plain mode is loopback-only tests.
            auth_require_tls=args.mode == "starttls",
        )

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory, sock=sock, ssl=context if args.mode == "tls" else None
    )
    print(sock.getsockname()[1], flush=True)
    await server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("mode", choices=["plain", "starttls", "tls"])
    parser.add_argument("--user")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
