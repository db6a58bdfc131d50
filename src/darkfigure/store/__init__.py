"""The encrypted, audited case store.

SQLite by default (one file, WAL mode), PostgreSQL for a team; Alembic migrations run on create/open.
Records are encrypted with AES-256-GCM under a key derived from a passphrase (Argon2id) or a key file
(HKDF); identities and identifiers are keyed HMAC-SHA256 pseudonyms; every write is appended to a keyed,
hash-chained audit log.  See ``docs/store.md`` for the threat model.

Examples
--------
>>> import tempfile, pathlib
>>> from darkfigure.store import Key, Store
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> key = Key.from_file(Key.generate_file(tmp / "k"))
>>> with Store.create(tmp / "s.db", key) as store:
...     store.summary()["records"]
0
"""

from ._crypto import KdfParams, Key
from ._store import AuditReport, ImportReport, QuarantineRow, Store, StoredRecord

__all__ = ["AuditReport", "ImportReport", "KdfParams", "Key", "QuarantineRow", "Store", "StoredRecord"]
