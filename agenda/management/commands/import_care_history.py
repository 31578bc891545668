from django.core.management.base import BaseCommand, CommandError

from agenda.history.importer import BATCH_SIZE, CareHistoryFileError, import_file
from espace_sante.csvfile import CsvFileError
from espace_sante.tracing import Actor


class Command(BaseCommand):
    help = (
        "Importe l'historique des soins de l'Assurance Maladie d'un fichier CSV (UTF-8, "
        "séparateur ; ou ,) : NIR, date, nature (acte, médicament délivré, séjour "
        "hospitalier), code, libellé, RPPS du professionnel ou établissement (FINESS, nom). "
        "Un événement déjà chargé n'est jamais ajouté deux fois. Les lignes invalides sont "
        "listées sur la sortie d'erreur et n'écrivent rien. Code de sortie 1 si une ligne a "
        "été refusée."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="fichier CSV avec une ligne d'en-tête")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="vérifie le fichier et compte ce qui serait ajouté, sans rien enregistrer",
        )
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args, file, dry_run, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size doit être un entier positif.")
        try:
            report = import_file(file, by=Actor.system(), dry_run=dry_run, batch_size=batch_size)
        except (OSError, CareHistoryFileError, CsvFileError) as exc:
            raise CommandError(str(exc)) from exc
        for rejection in report.rejected:
            self.stderr.write(str(rejection))
        summary = report.summary()
        if report.ok:
            self.stdout.write(self.style.SUCCESS(summary))
            return
        self.stdout.write(summary)
        raise CommandError(
            f"{report.rejected_lines} ligne(s) refusée(s) : voir le détail ci-dessus.",
            returncode=1,
        )
