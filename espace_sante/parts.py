"""The parts of a space, registered in one place: what each adds to the space's lifecycle.

A space has parts: the DMP's documents and medical profile, the audit trail, and
soon messages, agenda items and app connections. Each app registers its parts from
its `AppConfig.ready` with `register(Part(...))`; the space core (the full download,
the space page, activation and destruction) calls the functions below and never
imports the apps. How to add a part, and what each callable must guarantee, is in
`docs/PARTS.md`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from espace_sante.actions import AuditAction
    from espace_sante.models import Space, User

# The policy's decision (an `acces.policy.Decision`): this package does not import `acces`.
Decision = Any
ExportFiles = Callable[["Space", Decision], Iterable[tuple[str, bytes]]]
StepCount = Callable[["Space", Decision], int]
Counts = Callable[["Space", Decision], Iterable[tuple[str, int]]]
Destroyer = Callable[..., Any]  # destroy(space, *, keep_occupational: bool)
SpaceHook = Callable[["Space"], Any]
SpaceCheck = Callable[["Space"], bool]
ExportDecider = Callable[["Space", "User | None"], Decision]


@dataclass(frozen=True)
class Part:
    """One part of a space and what it adds to each step of the space's life.

    Every callable is optional: a part without `export` adds nothing to the download.

    - `export(space, decision)` yields (path in the archive, bytes) for the full download,
      holding only what `decision` (the requester's export decision) lets them take away;
    - `export_steps(space, decision)` says how many files `export` yields (the progress
      bar's steps; without it the part counts as one step);
    - `counts(space, decision)` yields (French label, number) for the space page, as
      `decision` (the reader's decision on the space) lets them see, in constant queries;
    - `destroy(space, keep_occupational=...)` crypto-shreds the part's content at
      definitive deletion, inside its transaction (`keep_occupational`: the
      occupational-health part outlives the rest, `lifecycle.destroy`);
    - `on_activation(space)` runs when the space is activated, in its transaction;
    - `has_professional_content(space)` says whether professionals already put something
      in this part (such a space opens only at an email its holder confirmed);
    - `actions` is the app's enum of audit actions with their French labels, and
      `action_families` labels codes built at run time (prefix → label): `register`
      makes both known to the trail.
    """

    name: str
    label: str
    export: ExportFiles | None = None
    export_steps: StepCount | None = None
    counts: Counts | None = None
    destroy: Destroyer | None = None
    on_activation: SpaceHook | None = None
    has_professional_content: SpaceCheck | None = None
    actions: type[AuditAction] | None = None
    action_families: dict[str, str] = field(default_factory=dict)


_parts: dict[str, Part] = {}
_export_decider: ExportDecider | None = None


def register(part: Part) -> Part:
    """Add `part` to every space's lifecycle, after the parts registered before it."""
    if part.name in _parts:
        raise ValueError(f"a part named {part.name!r} is already registered")
    if part.actions is not None or part.action_families:
        from espace_sante import actions

        actions.register(part.actions or (), families=part.action_families)
    _parts[part.name] = part
    return part


def parts() -> list[Part]:
    """The registered parts, in the order they were registered (the archive's order)."""
    return list(_parts.values())


def set_export_decision(decider: ExportDecider) -> None:
    """Plug in the policy's `export_decision(space, requester)` (done by `acces`)."""
    global _export_decider
    _export_decider = decider


def export_decision(space: Space, requester: User | None) -> Decision:
    """The requester's decision on the full download of `space`, from the policy."""
    if _export_decider is None:
        raise RuntimeError("no export decision registered: is 'acces' in INSTALLED_APPS?")
    return _export_decider(space, requester)


def count_steps(space: Space, decision: Decision) -> int:
    """How many files the parts add to the full download of `space` under `decision`."""
    return sum(
        part.export_steps(space, decision) if part.export_steps else 1
        for part in parts()
        if part.export
    )


def export_files(
    space: Space, decision: Decision
) -> Iterable[tuple[Part, Iterable[tuple[str, bytes]]]]:
    """Each exporting part with the files it adds to the download, under `decision`."""
    for part in parts():
        if part.export is not None:
            yield part, part.export(space, decision)


def counts(space: Space, decision: Decision) -> list[tuple[str, int]]:
    """The (label, number) pairs of every part, for the space page."""
    return [pair for part in parts() if part.counts for pair in part.counts(space, decision)]


def destroy(space: Space, *, keep_occupational: bool) -> None:
    """Crypto-shred every part's content (inside `lifecycle.destroy`'s transaction)."""
    for part in parts():
        if part.destroy is not None:
            part.destroy(space, keep_occupational=keep_occupational)


def on_activation(space: Space) -> None:
    """Let every part attach what it holds to a space being activated."""
    for part in parts():
        if part.on_activation is not None:
            part.on_activation(space)


def has_professional_content(space: Space) -> bool:
    """Whether professionals already put something in any part of `space`."""
    return any(
        part.has_professional_content(space)
        for part in parts()
        if part.has_professional_content is not None
    )
