"""What conduct needs from the apps above it (it may not import them).

- The points keeper (the rewards app) takes the points a penalty deducts out of the points
  ledger, and gives them back when the penalty is overturned. Conduct decides how many; the
  keeper decides from which lots. Exactly one keeper is registered, in its AppConfig.ready().
- Effects listeners hear when conduct changed a customer's standing flags (frozen points,
  blacklisting, …), in the same transaction, with the flags before and after.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from custguard.core.actors import Actor


class PointsKeeper(Protocol):
    def deduct(self, actor: Actor, customer_id: int, points: int, penalty_id: int) -> int:
        """Take up to `points` of what the customer may spend; returns what was taken."""
        ...

    def give_back(self, actor: Actor, customer_id: int, penalty_id: int) -> int:
        """Return what `deduct` took for this penalty; returns how many points came back."""
        ...


EffectsChanged = Callable[[Actor, int, Mapping[str, Any], Mapping[str, Any]], None]

_keeper: list[PointsKeeper] = []
_on_effects_changed: list[EffectsChanged] = []


def keep_points_with(keeper: PointsKeeper) -> None:
    _keeper[:] = [keeper]


def points_keeper() -> PointsKeeper:
    if not _keeper:
        raise RuntimeError("no points keeper is registered (is the rewards app installed?)")
    return _keeper[0]


def on_effects_changed(callback: EffectsChanged) -> EffectsChanged:
    if callback not in _on_effects_changed:
        _on_effects_changed.append(callback)
    return callback


def effects_changed(actor: Actor, customer_id: int, before: Mapping[str, Any],
                    after: Mapping[str, Any]) -> None:
    for callback in _on_effects_changed:
        callback(actor, customer_id, before, after)
