"""Reads the test SMTP sink's Maildir (SMTP_SINK_MAILDIR), so tests check what really went over SMTP."""

import os
import re
import time
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from email.utils import getaddresses
from pathlib import Path

CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def read_messages() -> list[EmailMessage]:
    """Every message the sink has stored this session, oldest first."""
    path = os.environ.get("SMTP_SINK_MAILDIR")
    if not path:
        raise RuntimeError("SMTP_SINK_MAILDIR is not set: run the tests with `make test`.")
    # The sink writes to tmp/ and renames into new/, so a file in new/ is always complete.
    files = [
        file for folder in ("new", "cur") if (Path(path) / folder).is_dir() for file in (Path(path) / folder).iterdir()
    ]
    files.sort(key=lambda file: (file.stat().st_mtime_ns, file.name))
    parser = BytesParser(policy=default)
    return [parser.parsebytes(file.read_bytes()) for file in files]


def messages_to(to: str) -> list[EmailMessage]:
    """Messages addressed to `to` (To, Cc or the SMTP envelope), case-insensitively."""
    return [message for message in read_messages() if to.lower() in _recipients(message)]


def wait_for_message(to: str, *, subject_contains: str | None = None, timeout: float = 30) -> EmailMessage:
    """The first message to `to` (whose subject contains `subject_contains`), polling until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        for message in messages_to(to):
            if subject_contains is None or subject_contains in str(message["Subject"]):
                return message
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no message to {to} (subject containing {subject_contains!r}) within {timeout:g}s")
        time.sleep(0.1)


def extract_code(message: EmailMessage) -> str:
    """The 6-digit code in the message's text part, as a user would read it."""
    text = message.get_body(preferencelist=("plain",))
    match = CODE.search(text.get_content()) if text else None
    if match is None:
        raise ValueError(f"no 6-digit code in the text part of {message['Subject']!r}")
    return match.group()


def _recipients(message: EmailMessage) -> set[str]:
    # X-RcptTo is added by aiosmtpd's Message handlers: the envelope recipients.
    headers = [str(value) for name in ("To", "Cc", "X-RcptTo") for value in message.get_all(name, [])]
    return {address.lower() for _, address in getaddresses(headers)}
