"""What apps above the ledger do when invoices change (the ledger may not import them).

An app registers a callable in its AppConfig.ready(); the ledger calls every one at the end of
the transaction that changed the invoices (a post, a batch, an import), after due state and
scores are refreshed, with the keys of the invoices whose open amount, settlement or credit
notes changed. A callable that raises rolls the whole change back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from custguard.core.actors import Actor

InvoicesChanged = Callable[[Actor, Sequence[int]], None]

_on_invoices_changed: list[InvoicesChanged] = []


def on_invoices_changed(callback: InvoicesChanged) -> InvoicesChanged:
    """Register `callback(actor, invoice_ids)`; registering it twice keeps one."""
    if callback not in _on_invoices_changed:
        _on_invoices_changed.append(callback)
    return callback


def invoices_changed(actor: Actor, invoice_ids: Sequence[int]) -> None:
    if not invoice_ids:
        return
    ordered = sorted(set(invoice_ids))
    for callback in _on_invoices_changed:
        callback(actor, ordered)
