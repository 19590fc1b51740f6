"""Interrupted switches: what a copy killed between its renames left, and what finishing it does. Pure: no I/O.

A copy's switch renames the old collection to a backup, the shadow to the name, then moves the aliases
back (evolution.recreate_ops). A run killed in between leaves the name missing while the shadow and a
backup exist, or the declared aliases still on the backup. `up` and `down` finish such a switch first,
under the lock (milvus/copy.py); `plan` and the dry runs show it and plan against the state it leaves
(finished()), so what a reviewer sees is what runs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from milvus_migrate.errors import MigrateError
from milvus_migrate.planning.capabilities import Capabilities
from milvus_migrate.planning.evolution import backup_version, owner_of, shadow_name
from milvus_migrate.planning.state import LoadState, State


@dataclass(frozen=True)
class InterruptedSwitch:
    """The rest of one collection's switch: rename the shadow to the name (if still needed), move aliases back."""

    collection: str
    # The shadow that takes the name, or None when both renames ran and only aliases are left.
    shadow: str | None
    # The backup the old collection was renamed to: the shadow must hold as many rows before it takes the name.
    backup: str | None
    # (alias, the backup holding it): the aliases the target version declares, moved back to `collection`.
    alias_moves: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """'rename collection docs__mm_shadow → docs; move alias docs_live: docs__mm_backup_v1 → docs'."""
        parts = [f"rename collection {self.shadow} → {self.collection}"] if self.shadow is not None else []
        parts += [f"move alias {alias}: {source} → {self.collection}" for alias, source in self.alias_moves]
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "rename": [self.shadow, self.collection] if self.shadow is not None else None,
            "check_rows_against": self.backup if self.shadow is not None else None,
            "move_aliases": [{"alias": alias, "from": source, "to": self.collection} for alias, source in self.alias_moves],
        }


def backups_to_read(existing: Collection[str], managed: Collection[str]) -> list[str]:
    """The backups whose aliases find() needs: those of managed collections whose name or shadow exists."""
    return sorted(
        b for b in existing
        if backup_version(b) is not None and (owner := owner_of(b)) in managed
        and (owner in existing or shadow_name(owner) in existing)
    )  # fmt: skip


def find(
    existing: Collection[str], declared_aliases: Mapping[str, Sequence[str]], aliases_of: Mapping[str, Sequence[str]]
) -> list[InterruptedSwitch]:
    """The switches to finish, by collection name.

    `existing`: every collection of the database; `declared_aliases`: each managed collection -> the aliases
    the version the run goes to declares on it; `aliases_of`: each of backups_to_read() -> its aliases.
    The first rename runs only once the shadow is copied, verified, indexed and loaded, so the shadow of a
    missing name is complete (its row count is checked against the backup again before the rename).
    """
    out = []
    for name in sorted(declared_aliases):
        shadow = shadow_name(name)
        backups = sorted(b for b in aliases_of if owner_of(b) == name)
        if not backups or (name not in existing and shadow not in existing):
            continue
        wanted = set(declared_aliases[name])
        if name in existing:
            # Both renames ran; the alias moves did not.
            moves = tuple((alias, b) for b in backups for alias in sorted(aliases_of[b]) if alias in wanted)
            if moves:
                out.append(InterruptedSwitch(name, shadow=None, backup=None, alias_moves=moves))
            continue
        # The backup made by the interrupted switch still holds the aliases (or is the newest one).
        backup = next((b for b in backups if aliases_of[b]), max(backups, key=lambda b: backup_version(b) or 0))
        moves = tuple((alias, backup) for alias in sorted(aliases_of[backup]) if alias in wanted)
        out.append(InterruptedSwitch(name, shadow=shadow, backup=backup, alias_moves=moves))
    return out


def finished(live: State, shadows: State, switches: Sequence[InterruptedSwitch], caps: Capabilities) -> State:
    """`live` (the managed collections and backups as read) as a read after finishing `switches` would describe it.

    `shadows` holds the shadows of the switches as read: each is the collection the rename puts under the name.
    """
    collections = dict(live.collections)
    owners = dict(live.alias_owners)
    backups = dict(live.backups)
    for switch in switches:
        if switch.shadow is not None:
            shadow = shadows.collections.get(switch.shadow)
            if shadow is None:
                raise MigrateError(
                    f"{switch.shadow} disappeared while it was read (another run finished the switch of "
                    f"{switch.collection}?); run the command again"
                )
            if not caps.rename_keeps_load_state:
                shadow = shadow.model_copy(update={"load": LoadState(loaded=False)})
            collections[switch.collection] = shadow.model_copy(update={"name": switch.collection})
            # The missing name was looked up as a possible alias; once renamed, it is the collection.
            owners.pop(switch.collection, None)
        moved = {alias for alias, _ in switch.alias_moves}
        if moved:
            c = collections[switch.collection]
            collections[switch.collection] = c.model_copy(update={"aliases": tuple(sorted({*c.aliases, *moved}))})
            for alias in moved:
                owners.pop(alias, None)
        for source in {source for _, source in switch.alias_moves} & backups.keys():
            kept = tuple(a for a in backups[source].aliases if a not in moved)
            backups[source] = backups[source].model_copy(update={"aliases": kept})
    return live.model_copy(update={"collections": dict(sorted(collections.items())), "alias_owners": owners, "backups": backups})
