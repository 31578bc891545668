"""The rules in force, read from the database as the engine's `Rule`s (one query)."""

from __future__ import annotations

import importlib

from django.apps import apps as global_apps

from agenda.models import PreventionRule
from agenda.prevention.engine import Rule

_FIELDS = [f.name for f in Rule.__dataclass_fields__.values()]
_TUPLES = {"conditions", "vaccine_terms", "loinc_codes", "care_codes"}

# The data migrations that load rules, in order (`restore_rules` replays them after a flush).
_STEPS = ["agenda.migrations.0005_prevention_rules_2025"]


def active_rules() -> list[Rule]:
    rows = PreventionRule.objects.filter(active=True).values(*_FIELDS)
    return [Rule(**{k: (tuple(v) if k in _TUPLES else v) for k, v in row.items()}) for row in rows]


def restore_rules(using: str = "default", **kwargs) -> bool:
    """Load the rules again if a flush emptied the table (as `dossier.reference` does)."""
    if PreventionRule.objects.using(using).exists():
        return False
    for module in _STEPS:
        importlib.import_module(module).load(global_apps, None)
    return True
