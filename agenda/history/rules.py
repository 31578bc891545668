"""The default profession × care-event-kind rules, loaded again after a flush.

Their data migration loads them once. A `flush` (an operator's, or the one that ends
each transactional test) empties the table; Django then sends `post_migrate` and
`restore_access_rules` replays the same migration function, as `dossier.reference`
does for the document matrix, so the defaults are written in one place.
"""

from __future__ import annotations

import importlib

from django.apps import apps as global_apps

_STEP = ("agenda.migrations.0003_hi_care_history", "load_default_rules")


def restore_access_rules(using: str = "default", **kwargs) -> bool:
    """Load the default rules if the table is empty."""
    from agenda.models import CareEventAccessRule

    if CareEventAccessRule.objects.using(using).exists():
        return False
    module, function = _STEP
    getattr(importlib.import_module(module), function)(global_apps, None)
    return True
