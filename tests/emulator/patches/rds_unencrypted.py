"""A snapshot of an unencrypted DB instance is unencrypted.

AWS behaviour reproduced (DBSnapshot API reference, ``Encrypted``: "Indicates whether the
DB snapshot is encrypted", and ``KmsKeyId``: present "if Encrypted is true"; "Encrypting
Amazon RDS resources" in the RDS User Guide: a snapshot has the encryption of its instance).
moto 5.2.5 gives every DB instance the key id ``default_kms_key_id`` and so reports every
instance snapshot as encrypted.

Not changed: snapshots taken or copied with a ``KmsKeyId`` (encrypted with that key), and
instances created with ``StorageEncrypted`` but no key (moto's stand-in key id
``default_kms_key_id`` stays, where AWS would use the ``aws/rds`` key).
"""

from __future__ import annotations

import functools
from typing import Any

from moto.rds.models import DBSnapshot


def apply() -> None:
    original = DBSnapshot.__init__

    @functools.wraps(original)
    def __init__(self: DBSnapshot, backend: Any, database: Any, *args: Any, **kwargs: Any) -> None:
        original(self, backend, database, *args, **kwargs)
        # moto passes (snapshot_id, snapshot_type, tags, original_created_at, kms_key_id)
        # positionally from CreateDBSnapshot and by keyword from CopyDBSnapshot.
        key = kwargs.get("kms_key_id", args[4] if len(args) > 4 else None)
        if key is None and not database.storage_encrypted:
            self.kms_key_id = None
            self.storage_encrypted = False
            self.encrypted = False

    DBSnapshot.__init__ = __init__  # type: ignore[method-assign]
