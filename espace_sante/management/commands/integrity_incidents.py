from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.utils import timezone

from espace_sante.models import IntegrityIncident


class Command(BaseCommand):
    help = (
        "Count and list the integrity incidents (ciphertexts that did not decrypt, wrong "
        "master keys): object and key ids only, never any content. With --fail, exits 1 "
        "when there are any in the period, for monitoring."
    )

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=24, help="period looked at (24)")
        parser.add_argument("--limit", type=int, default=20, help="latest incidents listed")
        parser.add_argument("--fail", action="store_true", help="exit 1 if there is any")

    def handle(self, *args, hours, limit, fail, **options):
        since = timezone.now() - timedelta(hours=hours)
        recent = IntegrityIncident.objects.filter(occurred_at__gte=since)
        count = recent.count()
        self.stdout.write(
            f"{count} incident(s) d'intégrité depuis {hours} h "
            f"({IntegrityIncident.objects.count()} au total)."
        )
        by_subject = (
            recent.values("subject_kind", "subject_id", "reason")
            .annotate(n=Count("id"))
            .order_by("-n", "subject_kind", "subject_id")[:limit]
        )
        for row in by_subject:
            self.stdout.write(
                f"  {row['n']:>5} × {row['reason']:<11} "
                f"{row['subject_kind'] or '-'} {row['subject_id'] or '-'}"
            )
        if limit:
            self.stdout.write("Derniers :")
        for incident in recent[:limit]:
            self.stdout.write(
                f"  {incident.occurred_at:%Y-%m-%d %H:%M:%S} {incident.reason:<11} "
                f"{incident.subject_kind or '-'} {incident.subject_id or '-'} "
                f"clé de données {incident.data_key_id or '-'} "
                f"clé maîtresse {incident.key_id or '-'} ({incident.where})"
            )
        if fail and count:
            raise CommandError(f"{count} incident(s) d'intégrité depuis {hours} h.")
