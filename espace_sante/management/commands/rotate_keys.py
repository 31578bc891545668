from django.conf import settings
from django.core.management.base import BaseCommand

from espace_sante import crypto


class Command(BaseCommand):
    help = (
        "Re-wrap every data key under the current master key (ENCRYPTION_CURRENT_KEY_ID). "
        "Interruptible and safe to run again; retire an old master key once it reports 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        total = 0
        for count in crypto.rotate(batch_size=batch_size):
            total += count
            self.stdout.write(f"  {total} data keys re-wrapped…")
        self.stdout.write(
            self.style.SUCCESS(
                f"{total} data keys re-wrapped under {settings.ENCRYPTION_CURRENT_KEY_ID!r}."
            )
        )
