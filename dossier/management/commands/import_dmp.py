from django.core.management.base import BaseCommand, CommandError

from dossier.importer import DmpImportError, import_archive
from espace_sante.tracing import Actor


class Command(BaseCommand):
    help = (
        "Reprend un DMP depuis une archive au format du téléchargement de l'espace (ZIP ou "
        "dossier décompressé, avec son dmp.fhir.json) : profil médical (allergies, antécédents, "
        "traitements, vaccinations, mesures), documents et messages (conversations reprises, en "
        "lecture seule). L'espace est celui du NIR du patient "
        "de l'archive, ou celui de --space-nir. Les fichiers ou ressources invalides sont listés "
        "sur la sortie d'erreur et ignorés ; relancer la même archive n'importe rien deux fois. "
        "Code de sortie 1 si un élément a été ignoré."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="archive ZIP ou dossier décompressé")
        parser.add_argument(
            "--space-nir",
            help="NIR de l'espace où importer (par défaut : celui du patient de l'archive)",
        )

    def handle(self, *args, archive, space_nir=None, **options):
        try:
            report = import_archive(path=archive, by=Actor.system(), space_nir=space_nir)
        except DmpImportError as exc:
            raise CommandError(str(exc)) from exc
        for problem in report.problems:
            self.stderr.write(problem)
        holder = report.space.holder
        self.stdout.write(f"Espace santé de {holder.display_name} ({holder.nir}) :")
        if report.ok:
            self.stdout.write(self.style.SUCCESS(report.summary()))
            return
        self.stdout.write(report.summary())
        raise CommandError(
            f"{len(report.problems)} problème(s), détaillé(s) ci-dessus ; le reste est importé.",
            returncode=1,
        )
