"""What the other agenda pages read of a person's prevention reminders."""

from __future__ import annotations


def due_reminders(space, today=None) -> list:
    """The reminders of `space` that are due or overdue on `today` (default: today), for
    the agenda page and the iCalendar feed, in a constant number of queries.

    Each item has: `key` (stable, for an iCalendar UID), `label` (the programme's French
    label, e.g. "Dépistage du cancer du col de l'utérus"), `state` and `state_label`,
    `window_start` and `window_end` (dates), `url` (its page).
    """
    return []
