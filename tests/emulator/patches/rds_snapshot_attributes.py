"""Snapshot share lists are sets.

AWS behaviour reproduced (ModifyDBSnapshotAttribute / ModifyDBClusterSnapshotAttribute API
references, ``ValuesToAdd``; "Sharing a DB snapshot" in the RDS User Guide): the ``restore``
attribute is the set of accounts a manual snapshot is shared with. Adding an account that is
already on it changes nothing, so sharing is idempotent and DescribeDBSnapshotAttributes
lists each account once. moto 5.2.5 appends duplicates (and counts them against the
20-account limit).

Not changed: moto's other checks (allowed attribute names, add/remove overlap, the limit).
"""

from __future__ import annotations

import functools
from typing import Any

from moto.rds.models import SnapshotAttributesMixin


def apply() -> None:
    original = SnapshotAttributesMixin.modify_attribute

    @functools.wraps(original)
    def modify_attribute(
        self: SnapshotAttributesMixin,
        attribute_name: str,
        values_to_add: list[str] | None,
        values_to_remove: list[str] | None,
    ) -> None:
        present = set(self.attributes.get(attribute_name, []))
        new = [v for v in dict.fromkeys(values_to_add or []) if v not in present]
        original(self, attribute_name, new, values_to_remove)

    SnapshotAttributesMixin.modify_attribute = modify_attribute  # type: ignore[method-assign]
