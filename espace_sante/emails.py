"""The one helper that renders emails from templates/emails/<name>_{subject,body}.txt/.html."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, make_msgid
from django.template.loader import render_to_string


def render(name: str, context: dict) -> tuple[str, str]:
    """Subject (one line) and plain-text body of email `name`."""
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
    body = render_to_string(f"emails/{name}_body.txt", context)
    return subject, body


def new_message_id() -> str:
    """A fresh Message-ID (`<...@domain-of-the-sender>`), without a DNS lookup of the host."""
    return make_msgid(domain=settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost")


def send(
    *,
    to: str,
    subject: str,
    body: str,
    link: str = "",
    message_id: str = "",
    connection=None,
) -> None:
    """Send a text email with its HTML twin; raises on transport failure.

    `message_id`, when given, is the Message-ID header: a resend of the same
    notification carries the same one, so mail clients show it once.
    `connection`, an open connection, is left open: the caller can record the
    acceptance before the (possibly slow) SMTP QUIT.
    """
    html = render_to_string(
        "emails/notification.html",
        {"subject": subject, "body": body, "link": link, "site_url": settings.SITE_URL},
    )
    message = EmailMultiAlternatives(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
        body=body,
        to=[to],
        headers={"Message-ID": message_id} if message_id else None,
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)
