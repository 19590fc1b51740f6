"""Interrupted switches: what a copy killed between its renames left, and what finishing it does. Pure: no I/O.

A copy's switch renames the old collection to a backup, the shadow to the name, then moves the aliases
back (evolution.py); a switch back renames a backup into place the same way. A run killed in between
leaves the name missing while the shadow (or the backup switching back) exists, a backup switching back
beside the name, or the declared aliases still on a backup. `up` and `down` finish such a switch first,
under the lock (milvus/copy.py); `plan` and the dry runs show it and plan against the state it leaves
(finished()), so what a reviewer sees is what runs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from milvus_migrate.errors import MigrateError
from milvus_migrate.planning.capabilities import Capabilities
from milvus_migrate.planning.evolution import (
    backup_name,
    backup_version,
    owner_of,
    shadow_name,
    switch_version,
)
from milvus_migrate.planning.state import LoadState, RowSet, State


@dataclass(frozen=True)
class InterruptedSwitch:
    """The rest of one collection's switch: one rename (if still needed), then aliases moved back to the name."""

    collection: str
    # (from, to): a shadow or a backup switching back takes the name, or a backup switching back is put back
    # under its backup name (the name was never given up). None when only aliases are left.
    rename: tuple[str, str] | None = None
    # A copy's shadow takes the name only when it holds as many rows as this backup (the source at the switch).
    check_rows_against: str | None = None
    # (alias, the backup holding it): the aliases the target version declares, moved back to `collection`.
    alias_moves: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """'rename collection docs__mm_shadow → docs; move alias docs_live: docs__mm_backup_v1 → docs'."""
        parts = [f"rename collection {self.rename[0]} → {self.rename[1]}"] if self.rename is not None else []
        parts += [f"move alias {alias}: {source} → {self.collection}" for alias, source in self.alias_moves]
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "rename": list(self.rename) if self.rename is not None else None,
            "check_rows_against": self.check_rows_against,
            "move_aliases": [{"alias": alias, "from": source, "to": self.collection} for alias, source in self.alias_moves],
        }


def _incoming(name: str, existing: Collection[str]) -> str | None:
    """The backup a killed switch back left on its way to `name` (`<name>__mm_switch_v<N>`), if any."""
    return next((n for n in sorted(existing) if switch_version(n) is not None and owner_of(n) == name), None)


def backups_to_read(existing: Collection[str], managed: Collection[str]) -> list[str]:
    """The backups whose aliases find() needs: those of managed collections with something to finish."""
    return sorted(
        b for b in existing
        if backup_version(b) is not None and (owner := owner_of(b)) in managed
        and (owner in existing or shadow_name(owner) in existing or _incoming(owner, existing) is not None)
    )  # fmt: skip


def find(
    existing: Collection[str], declared_aliases: Mapping[str, Sequence[str]], aliases_of: Mapping[str, Sequence[str]]
) -> list[InterruptedSwitch]:
    """The switches to finish, by collection name.

    `existing`: every collection of the database; `declared_aliases`: each managed collection -> the aliases
    the version the run goes to declares on it; `aliases_of`: each of backups_to_read() -> its aliases.
    A copy renames its shadow into place only once the shadow is copied, verified, indexed and loaded, so
    the shadow of a missing name is complete (its row count is checked against the backup again first).
    A switch back renames the backup to `<name>__mm_switch_v<N>`, the collection to a backup, then the
    backup to the name: killed in between, the backup takes the name, or goes back to its backup name
    when the name is still there (docs/evolution.md, "Failure and reruns").
    """
    out = []
    for name in sorted(declared_aliases):
        shadow, incoming = shadow_name(name), _incoming(name, existing)
        backups = sorted(b for b in aliases_of if owner_of(b) == name)
        wanted = set(declared_aliases[name])
        if name in existing:
            # Both renames ran and the alias moves did not; or a switch back stopped before the name moved.
            moves = tuple((alias, b) for b in backups for alias in sorted(aliases_of[b]) if alias in wanted)
            put_back = (incoming, backup_name(name, switch_version(incoming) or 0)) if incoming is not None else None
            if moves or put_back:
                out.append(InterruptedSwitch(name, rename=put_back, alias_moves=moves))
            continue
        if incoming is None and (shadow not in existing or not backups):
            continue  # no name and nothing to give it: a first `up` creates it
        # The backup made by the interrupted switch holds the aliases (or is the newest one).
        holder = next((b for b in backups if aliases_of[b]), max(backups, key=lambda b: backup_version(b) or 0, default=None))
        moves = tuple((alias, holder) for alias in sorted(aliases_of.get(holder, ()) if holder else ()) if alias in wanted)
        if incoming is not None:
            out.append(InterruptedSwitch(name, rename=(incoming, name), alias_moves=moves))
        else:
            out.append(InterruptedSwitch(name, rename=(shadow, name), check_rows_against=holder, alias_moves=moves))
    return out


def to_read(switches: Sequence[InterruptedSwitch]) -> list[str]:
    """The collections finished() needs read: those the switches rename."""
    return sorted(s.rename[0] for s in switches if s.rename is not None)


def finished(
    live: State,
    renamed: State,
    switches: Sequence[InterruptedSwitch],
    caps: Capabilities,
    switch_facts: Mapping[str, tuple[RowSet, RowSet]] | None = None,
) -> State:
    """`live` (the managed collections and backups as read) as a read after finishing `switches` would describe it.

    `renamed` holds the collections of to_read(), as read; `switch_facts` what the history recorded at each
    backup's switch (history.switch_facts), which a backup put back under its name carries again.
    """
    collections = dict(live.collections)
    owners = dict(live.alias_owners)
    backups = dict(live.backups)
    for switch in switches:
        if switch.rename is not None:
            source, target = switch.rename
            c = renamed.collections.get(source)
            if c is None:
                raise MigrateError(
                    f"{source} disappeared while it was read (another run finished the switch of "
                    f"{switch.collection}?); run the command again"
                )
            c = c.model_copy(update={"name": target})
            if not caps.rename_keeps_load_state:
                c = c.model_copy(update={"load": LoadState(loaded=False)})
            if target == switch.collection:
                collections[target] = c
                # The missing name was looked up as a possible alias; once renamed, it is the collection.
                owners.pop(target, None)
            else:
                facts = (switch_facts or {}).get(target)
                backups[target] = c.model_copy(update={"row_set": facts[0], "replaced_by": facts[1]}) if facts else c
        moved = {alias for alias, _ in switch.alias_moves}
        if moved:
            c = collections[switch.collection]
            collections[switch.collection] = c.model_copy(update={"aliases": tuple(sorted({*c.aliases, *moved}))})
            for alias in moved:
                owners.pop(alias, None)
        for source in {source for _, source in switch.alias_moves} & backups.keys():
            kept = tuple(a for a in backups[source].aliases if a not in moved)
            backups[source] = backups[source].model_copy(update={"aliases": kept})
    return live.model_copy(
        update={"collections": dict(sorted(collections.items())), "alias_owners": owners, "backups": dict(sorted(backups.items()))}
    )
