from datetime import datetime, time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date

from espace_sante import letters
from espace_sante.models import Letter


class Command(BaseCommand):
    help = (
        "Déchiffre dans DIR les courriers pas encore imprimés (un PDF par courrier) pour "
        "l'imprimeur, et les marque imprimés. Relancer la commande n'exporte que les nouveaux."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="dossier de destination (créé s'il manque)")
        parser.add_argument(
            "--since", help="seulement les courriers produits depuis cette date (AAAA-MM-JJ)"
        )

    def handle(self, *args, directory, since, **options):
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        pending = Letter.objects.filter(printed_at__isnull=True).order_by("pk")
        if since:
            day = parse_date(since)
            if day is None:
                raise CommandError(f"Date « {since} » invalide : attendu AAAA-MM-JJ.")
            start = timezone.make_aware(datetime.combine(day, time.min))
            pending = pending.filter(created_at__gte=start)
        exported = 0
        for pk in list(pending.values_list("pk", flat=True)):
            # One letter at a time, claimed under lock: two exports never print the same letter,
            # and a letter is marked printed only once its file is written.
            with transaction.atomic():
                letter = (
                    Letter.objects.select_for_update(skip_locked=True)
                    .select_related("data_key")
                    .filter(pk=pk, printed_at__isnull=True)
                    .first()
                )
                if letter is None:
                    continue
                path = target / f"courrier-{letter.pk:08d}-{letter.kind}.pdf"
                tmp = path.with_suffix(".pdf.part")
                tmp.write_bytes(letters.read_pdf(letter))
                tmp.replace(path)
                letter.printed_at = timezone.now()
                letter.save(update_fields=["printed_at"])
            exported += 1
        self.stdout.write(self.style.SUCCESS(f"{exported} courrier(s) exporté(s) dans {target}."))
