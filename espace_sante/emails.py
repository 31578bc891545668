"""The one helper that renders emails from templates/emails/<name>_{subject,body}.txt/.html."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def render(name: str, context: dict) -> tuple[str, str]:
    """Subject (one line) and plain-text body of email `name`."""
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
    body = render_to_string(f"emails/{name}_body.txt", context)
    return subject, body


def send(*, to: str, subject: str, body: str, link: str = "") -> None:
    """Send a text email with its HTML twin; raises on transport failure."""
    html = render_to_string(
        "emails/notification.html",
        {"subject": subject, "body": body, "link": link, "site_url": settings.SITE_URL},
    )
    message = EmailMultiAlternatives(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}", body=body, to=[to]
    )
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)
