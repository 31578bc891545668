"""What the lifecycle's services share: the locked row, the traced move, the reason kept."""

from __future__ import annotations

from datetime import date

from espace_sante.models import Space
from espace_sante.tracing import Actor, trace


def _reason(reason: str) -> dict:
    """The agent's reason for a lifecycle action, kept in the trail's detail (200 characters)."""
    return {"reason": reason.strip()[:200]} if reason and reason.strip() else {}


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _locked(space: Space) -> Space:
    return Space.objects.select_for_update().select_related("holder").get(pk=space.pk)


def _move(
    space: Space,
    state: str,
    *,
    by: Actor,
    action: str,
    extra_fields: list[str] | None = None,
    detail: dict | None = None,
) -> None:
    previous = space.move_to(state)
    space.save(update_fields=["state", "state_changed_at", *(extra_fields or [])])
    trace(
        actor=by,
        action=action,
        space=space,
        target=space,
        detail={"from": previous, "to": state, **(detail or {})},
    )
