from django.core.management.base import BaseCommand, CommandError

from espace_sante.enrolment import BATCH_SIZE, EnrolmentFileError, enrol_file
from espace_sante.tracing import Actor


class Command(BaseCommand):
    help = (
        "Inscrit les assurés d'un fichier CSV (UTF-8, séparateur ; ou ,) : espaces annoncés, "
        "code provisoire envoyé par e-mail ou par courrier. Les lignes invalides sont listées "
        "sur la sortie d'erreur et ne créent rien ; relancer le même fichier ne crée pas de "
        "doublon. Code de sortie 1 si une ligne a été refusée."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="fichier CSV avec une ligne d'en-tête")
        parser.add_argument(
            "--no-announce",
            action="store_true",
            help="n'envoie pas les codes (chargement préalable, mesures de performance)",
        )
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args, file, no_announce, batch_size, **options):
        try:
            report = enrol_file(
                file, by=Actor.system(), announce=not no_announce, batch_size=batch_size
            )
        except (OSError, EnrolmentFileError) as exc:
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
