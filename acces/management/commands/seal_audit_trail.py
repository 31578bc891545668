from django.core.management.base import BaseCommand

from acces.audit import seal


class Command(BaseCommand):
    help = "Seal the heads of the audit chains that moved since the last seal."

    def handle(self, *args, **options):
        new = seal()
        if new is None:
            self.stdout.write("Nothing moved since the last seal.")
        else:
            self.stdout.write(f"Seal {new.pk}: {len(new.heads)} chains, {new.hash}")
