from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from acces.audit import verify_all


def _datetime(value: str):
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--since: not a date and time: {value!r} (e.g. 2026-12-01T00:00Z)")
    if parsed.tzinfo is None:
        from django.utils import timezone

        parsed = timezone.make_aware(parsed)
    return parsed


class Command(BaseCommand):
    help = (
        "Recompute every hash chain of the audit trail and its seals; fail on the first break. "
        "With --since-id or --since, only the events after them (each chain from its first "
        "event in the range, linked to the stored event before it, to its head)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since-id", type=int, help="only the events whose id is greater than this one"
        )
        parser.add_argument(
            "--since",
            type=_datetime,
            help="only the events that occurred at or after this date and time (ISO 8601)",
        )

        parser.add_argument(
            "--archived",
            action="store_true",
            help="the months before the range are archived: a chain whose event before the "
            "range is missing is checked from its first event in the range",
        )

    def handle(self, *args, since_id=None, since=None, archived=False, **options):
        if archived and since_id is None and since is None:
            raise CommandError("--archived needs --since or --since-id")
        chains = broken = 0
        for _chain, problem in verify_all(since_id=since_id, since=since, archived=archived):
            chains += 1
            if problem is not None:
                broken += 1
                self.stderr.write(self.style.ERROR(f"BROKEN {problem}"))
        if broken:
            raise CommandError(f"{broken} of {chains} chains are broken")
        scope = ""
        if since_id is not None or since is not None:
            parts = [f"id > {since_id}"] if since_id is not None else []
            parts += [f"since {since.isoformat()}"] if since is not None else []
            scope = f" (events {', '.join(parts)})"
        self.stdout.write(
            self.style.SUCCESS(f"Audit trail intact: {chains} chains verified{scope}.")
        )
