import base64
import os

from django.core.management.base import BaseCommand
from django.utils import timezone


class Command(BaseCommand):
    help = "Print a new master key as 'kid:base64', to append to ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--kid", default=None, help="key id (default: k<date and time>)")

    def handle(self, *args, kid, **options):
        kid = kid or timezone.now().strftime("k%Y%m%d%H%M%S")
        self.stdout.write(f"{kid}:{base64.b64encode(os.urandom(32)).decode()}")
