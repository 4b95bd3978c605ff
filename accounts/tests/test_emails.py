import re
import socket
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import transaction

from accounts.emails import MAX_ATTEMPTS, TransientEmailError, deliver_email, queue_email
from accounts.models import OutboundEmail
from testing.mailbox import extract_code, messages_to, wait_for_message

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
FRONTEND_URL = "https://app.vod.test"
CONTEXTS = {
    "verify_email": {"name": "Ada", "code": "042917", "minutes": 10},
    "account_exists": {"name": "Ada"},
    "password_reset": {"name": "Ada", "code": "042917", "minutes": 10, "email": "ada+vod@example.com"},
    "password_changed": {"name": "Ada"},
    "two_factor_changed": {"name": "Ada", "change": "turned off"},
    "token_expiring": {"name": "Ada", "token_name": "CI", "prefix": "vod_pat_AbCd1234", "expires_at": "2027-01-01"},
}


def unique_address() -> str:
    return f"{uuid.uuid4().hex}@example.com"


def wait_for_status(email_id, status: str, timeout: float = 30) -> OutboundEmail:
    deadline = time.monotonic() + timeout
    while (row := OutboundEmail.objects.get(id=email_id)).status != status and time.monotonic() < deadline:
        time.sleep(0.1)
    return row


@pytest.fixture
def smtp_to_sink(settings):
    """Django's test setup swaps in the locmem backend; put back SMTP to the sink from EMAIL_URL."""
    settings.EMAIL_BACKEND = SMTP_BACKEND
    return settings


def test_queued_email_is_sent_by_the_worker_only_after_commit(celery_worker, user):
    # given
    context = {"name": user.get_full_name(), "code": "305182", "minutes": 10}

    # when
    with transaction.atomic():
        email = queue_email(to=user.email, template="verify_email", context=context)
        time.sleep(1)  # a task enqueued too early would have run (and found no row) by now
        # then
        assert messages_to(user.email) == []

    # then
    message = wait_for_message(user.email, subject_contains="Confirm your VOD email")
    assert extract_code(message) == "305182"
    row = wait_for_status(email.id, OutboundEmail.Status.SENT)
    assert row.status == OutboundEmail.Status.SENT
    assert row.context == {}
    assert row.sent_at is not None
    assert row.attempts == 1


def test_delivering_a_row_twice_sends_one_message(db, smtp_to_sink):
    # given
    to = unique_address()
    email = queue_email(to=to, template="password_changed", context={"name": "Ada"})

    # when
    first = deliver_email(email_id=email.id)
    second = deliver_email(email_id=email.id)

    # then
    assert (first, second) == (True, False)
    wait_for_message(to, timeout=5)
    assert len(messages_to(to)) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmail.Status.SENT, 1)


def test_transport_error_releases_the_row_then_fails_it_after_max_attempts(db, smtp_to_sink):
    # given: a loopback port nobody listens on
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    smtp_to_sink.EMAIL_HOST, smtp_to_sink.EMAIL_PORT = "127.0.0.1", closed_port
    email = queue_email(to=unique_address(), template="verify_email", context=CONTEXTS["verify_email"])

    # when
    with pytest.raises(TransientEmailError):
        deliver_email(email_id=email.id)

    # then
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmail.Status.PENDING, 1)
    assert email.last_error
    assert email.context == CONTEXTS["verify_email"]  # kept for the retry

    # when
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(TransientEmailError):
            deliver_email(email_id=email.id)

    # then
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmail.Status.FAILED, MAX_ATTEMPTS)
    assert deliver_email(email_id=email.id) is False


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_each_template_renders_text_and_html_with_links_from_frontend_url(db, settings, mailoutbox, template):
    # given: the stored context tries to smuggle another host in, as a Host header would
    settings.FRONTEND_URL = FRONTEND_URL + "/"
    settings.ALLOWED_HOSTS = ["attacker.example"]
    context = {**CONTEXTS[template], "frontend_url": "https://attacker.example"}
    email = queue_email(to=unique_address(), template=template, context=context)

    # when
    assert deliver_email(email_id=email.id)

    # then
    [message] = mailoutbox
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert message.subject and "\n" not in message.subject
    assert "Ada" in message.body and "Ada" in html
    assert "attacker.example" not in message.body + html
    links = re.findall(r"https?://[^\s\"<]+", message.body) + re.findall(r'href="([^"]+)"', html)
    assert links
    assert all(re.match(r"https://app\.vod\.test(/[^/]|$)", link) for link in links), links
    email.refresh_from_db()
    assert email.context == {}


def test_verify_email_shows_the_code_in_both_parts(db, mailoutbox):
    # given
    email = queue_email(to=unique_address(), template="verify_email", context=CONTEXTS["verify_email"])

    # when
    deliver_email(email_id=email.id)

    # then
    [message] = mailoutbox
    assert "042917" in message.body
    assert "042917" in message.alternatives[0][0]
    assert "10 minutes" in message.body


def test_password_reset_link_carries_the_encoded_email_and_code(db, settings, mailoutbox):
    # given
    settings.FRONTEND_URL = FRONTEND_URL
    email = queue_email(to=unique_address(), template="password_reset", context=CONTEXTS["password_reset"])

    # when
    deliver_email(email_id=email.id)

    # then
    [message] = mailoutbox
    [link] = re.findall(r"https?://\S+", message.body)
    assert link.startswith(f"{FRONTEND_URL}/reset-password?email=ada%2Bvod%40example.com&code=")
    assert parse_qs(urlsplit(link).query) == {"email": ["ada+vod@example.com"], "code": ["042917"]}
    [href] = re.findall(r'href="([^"]+)"', message.alternatives[0][0])
    assert href.replace("&amp;", "&") == link


def test_unknown_template_is_refused_and_stores_nothing(db):
    # when
    with pytest.raises(ValueError, match="Unknown email template"):
        queue_email(to=unique_address(), template="../secrets", context={})

    # then
    assert not OutboundEmail.objects.exists()


@pytest.mark.parametrize("template", ["verify_email", "password_reset"])
def test_the_console_email_of_make_run_shows_the_code_on_one_plain_line(db, settings, capsys, template):
    # given `make run`'s email backend
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    email = queue_email(to=unique_address(), template=template, context=CONTEXTS[template])
    # when
    deliver_email(email_id=email.id)
    # then a developer finds the code with one grep, label and code together
    lines = [line for line in capsys.readouterr().out.splitlines() if "code is" in line and "<" not in line]
    assert lines == [lines[0]] and re.fullmatch(r"Your .*code is: 042917", lines[0]), lines
