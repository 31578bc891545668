"""The messaging part of a space, registered with `espace_sante.parts` by `MessagerieConfig.ready`.

"messages": the conversations of the space, with their messages and attachments.
Its export, counts and destruction are added with the part's registration work.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from espace_sante.parts import Part
from messagerie.actions import MessagingAction

MESSAGES = Part(
    name="messages",
    label=_("Messagerie"),
    actions=MessagingAction,
)
