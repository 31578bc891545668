"""What really left by email (django.core.mail.outbox), as its recipient reads it."""

from django.core import mail

# What the factories and tests put in a record: an email carrying any of it leaks care.
MEDICAL_CONTENT = ("Bilan sanguin", "11502-2", "%PDF", "diagnostic", "ordonnance", "allergie")
FOOTER = "Cet e-mail ne contient jamais d'information médicale."


def full_text(message) -> str:
    """Subject, text body and every alternative (the HTML twin) of one email."""
    parts = [message.subject, message.body]
    parts += [content for content, _ in getattr(message, "alternatives", [])]
    return "\n".join(str(part) for part in parts)


def _summary() -> list:
    return [(m.to, m.subject) for m in mail.outbox]


def sent_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def assert_email_left(to: str, *, count: int | None = 1, subject: str = "", without=()) -> list:
    """`count` emails (None: at least one) left for `to` (with `subject` in theirs, if given),
    each with the no-medical-content footer and none of the record's content (`without` adds
    the test's own: a document title, a profile entry)."""
    messages = [m for m in sent_to(to) if subject in m.subject]
    if count is None:
        assert messages, f"aucun e-mail « {subject} » pour {to} ; partis : {_summary()}"
        count = len(messages)
    assert len(messages) == count, (
        f"{len(messages)} e-mail(s) pour {to}, attendu {count} ; partis : {_summary()}"
    )
    for message in messages:
        text = full_text(message)
        assert FOOTER in message.body
        for secret in (*MEDICAL_CONTENT, *without):
            assert secret.lower() not in text.lower(), f"« {secret} » dans l'e-mail {text!r}"
    return messages


def delivered(notifications, *, without=()) -> bool:
    """Run the email task of each notification (in a test whose transaction never commits,
    the task queued at commit never runs) and say whether each email left, to its
    recipient, without medical content. Portal-only notifications (no email) are skipped."""
    from collections import Counter

    from espace_sante.tasks import send_notification_email

    notifications = [n for n in notifications if n.email_state != "none"]
    for notification in notifications:
        send_notification_email.delay(notification.pk)
    expected = Counter()
    for notification in notifications:
        notification.refresh_from_db()
        address = notification.recipient.email if notification.recipient else notification.address
        assert notification.email_state == "sent", (address, notification.email_error)
        expected[address, notification.subject] += 1
    for (address, subject), count in expected.items():
        messages = [m for m in sent_to(address) if m.subject.endswith(subject)]
        assert len(messages) == count, f"{len(messages)} e-mail(s) « {subject} » pour {address}"
        for message in messages:
            text = full_text(message)
            for secret in (*MEDICAL_CONTENT, *without):
                assert secret.lower() not in text.lower(), f"« {secret} » dans l'e-mail {text!r}"
    return bool(notifications)
