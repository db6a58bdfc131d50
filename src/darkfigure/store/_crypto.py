"""Keys, key derivation, authenticated encryption and keyed pseudonyms for the case store.

Design (see ``docs/store.md`` for the threat model):

* A :class:`Key` is the *secret the user holds* (a passphrase or the bytes of a key file).  It never becomes
  a store key by itself: the store keeps a random salt and the KDF parameters, and a 32-byte key-encryption
  key is derived from both (Argon2id for passphrases, HKDF-SHA256 for key files that already carry 256 bits).
  That key unwraps the store's own random 256-bit data key (envelope encryption: changing the passphrase
  re-wraps one key instead of re-encrypting every record).
* Sub-keys of the data key are separated with HKDF-Expand and a label per purpose, so that the
  encryption key, the pseudonym key, the audit key and the key-check value never share material.
* Encryption is AES-256-GCM with a fresh 96-bit nonce per value and the value's *context* (table + row id)
  as associated data, so a ciphertext cannot be moved to another row without failing authentication.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from ..exceptions import InputError, StoreError, WrongKeyError

__all__ = ["KdfParams", "Key", "StoreKeys"]

PASSPHRASE_ENV = "DARKFIGURE_PASSPHRASE"
_MIN_PASSPHRASE = 8
_MIN_KEYFILE_BYTES = 16
_FORMAT = b"\x01"  # ciphertext format version byte


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters for passphrase keys, chosen when a store is created and kept in it.

    The defaults are RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes): about half a second
    on a laptop, which is paid once per command.  Lower values only make sense for tests.

    Examples
    --------
    >>> KdfParams().to_dict()["algorithm"]
    'argon2id'
    """

    memory_cost_kib: int = 65536
    iterations: int = 3
    lanes: int = 4

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form kept in the store's metadata."""
        return {"algorithm": "argon2id", "memory_cost_kib": self.memory_cost_kib,
                "iterations": self.iterations, "lanes": self.lanes}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> KdfParams:
        """Inverse of :meth:`to_dict`."""
        if d.get("algorithm") != "argon2id":
            raise StoreError("the store uses an unknown key-derivation algorithm")
        return cls(int(d["memory_cost_kib"]), int(d["iterations"]), int(d["lanes"]))


@dataclass(frozen=True)
class Key:
    """The secret that opens a store: a passphrase or a key file's bytes.

    Build one with :meth:`from_passphrase`, :meth:`from_file` or :meth:`from_env`.  The secret is never shown
    by ``repr`` and never written anywhere by darkfigure.

    Examples
    --------
    >>> k = Key.from_passphrase("correct horse battery staple")
    >>> k.kind
    'passphrase'
    >>> "horse" in repr(k)
    False
    """

    kind: Literal["passphrase", "keyfile"]
    _secret: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"Key(kind={self.kind!r})"

    @classmethod
    def from_passphrase(cls, passphrase: str) -> Key:
        """A key from a passphrase (at least 8 characters; normalised to Unicode NFC)."""
        if not isinstance(passphrase, str) or len(passphrase) < _MIN_PASSPHRASE:
            raise InputError(f"the passphrase must have at least {_MIN_PASSPHRASE} characters")
        # NFC so that the same passphrase typed on macOS (NFD) and elsewhere opens the same store
        return cls("passphrase", unicodedata.normalize("NFC", passphrase).encode("utf-8"))

    @classmethod
    def from_file(cls, path: str | Path) -> Key:
        """A key from a key file (its bytes, surrounding whitespace removed, are the secret)."""
        p = Path(path)
        try:
            data = p.read_bytes().strip()
        except OSError as exc:
            raise InputError(f"cannot read key file {p.name}: {exc.strerror or 'unreadable'}") from None
        if len(data) < _MIN_KEYFILE_BYTES:
            raise InputError(f"key file {p.name} is too short (at least {_MIN_KEYFILE_BYTES} bytes)")
        return cls("keyfile", data)

    @classmethod
    def from_env(cls) -> Key:
        """A key from the passphrase in ``DARKFIGURE_PASSPHRASE``."""
        value = os.environ.get(PASSPHRASE_ENV)
        if not value:
            raise InputError(f"no key: set {PASSPHRASE_ENV} or give --key-file")
        return cls.from_passphrase(value)

    @staticmethod
    def generate_file(path: str | Path) -> Path:
        """Write a new random key file (256 bits, base64 text, mode 0600) and return its path.

        Refuses to overwrite an existing file: losing a key file loses the store.
        """
        p = Path(path)
        text = base64.b64encode(secrets.token_bytes(32)) + b"\n"
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise InputError(f"key file {p.name} already exists; not overwriting it") from None
        except OSError as exc:
            raise InputError(f"cannot create key file {p.name}: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
        return p

    def derive_master(self, salt: bytes, kdf: KdfParams | None) -> bytes:
        """Derive the 32-byte key-encryption key for a store with this salt (Argon2id params for passphrases).

        It unwraps the store's random data key (envelope encryption), so a passphrase or key file can be
        changed (:meth:`Store.rekey`) without re-encrypting the records.
        """
        if self.kind == "passphrase":
            if kdf is None:
                raise WrongKeyError("this store is opened with a key file, not a passphrase")
            return Argon2id(salt=salt, length=32, iterations=kdf.iterations, lanes=kdf.lanes,
                            memory_cost=kdf.memory_cost_kib).derive(self._secret)
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                    info=b"darkfigure/keyfile").derive(self._secret)


def wrap_store_key(kek: bytes, store_key: bytes, store_id: str) -> bytes:
    """Encrypt the store's random data key under the key-encryption key derived from the user's secret."""
    nonce = os.urandom(12)
    aad = b"darkfigure/store-key/" + store_id.encode()
    return _FORMAT + nonce + AESGCM(kek).encrypt(nonce, store_key, aad)


def unwrap_store_key(kek: bytes, blob: bytes, store_id: str) -> bytes:
    """Inverse of :func:`wrap_store_key`; a wrong key fails authentication -> :class:`WrongKeyError`."""
    if blob[:1] != _FORMAT:
        raise StoreError("unknown wrapped-key format")
    try:
        return AESGCM(kek).decrypt(blob[1:13], blob[13:], b"darkfigure/store-key/" + store_id.encode())
    except InvalidTag:
        raise WrongKeyError("wrong passphrase or key file for this store") from None


def _expand(master: bytes, label: str) -> bytes:
    info = b"darkfigure/" + label.encode()
    return HKDFExpand(algorithm=hashes.SHA256(), length=32, info=info).derive(master)


class StoreKeys:
    """The purpose-separated keys of one open store (held in memory only)."""

    def __init__(self, master: bytes) -> None:
        self.data_key = master  # kept only to re-wrap it under a new user key (Store.rekey)
        self._aead = AESGCM(_expand(master, "enc"))
        # keyed HMAC objects are copied per use: cheaper than re-keying for every value
        self._identity = hmac.new(_expand(master, "identity"), digestmod=hashlib.sha256)
        self._content = hmac.new(_expand(master, "content"), digestmod=hashlib.sha256)
        self._pseudonym = hmac.new(_expand(master, "pseudonym"), digestmod=hashlib.sha256)
        self._audit = hmac.new(_expand(master, "audit"), digestmod=hashlib.sha256)
        check = hmac.new(_expand(master, "check"), digestmod=hashlib.sha256)
        check.update(b"darkfigure key check v1")
        self.check = check.hexdigest()

    # --- encryption
    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        """AES-256-GCM: version byte, 12-byte nonce, ciphertext and tag; ``context`` is bound as AAD."""
        nonce = os.urandom(12)
        return _FORMAT + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def decrypt(self, blob: bytes, context: str) -> bytes:
        """Inverse of :meth:`encrypt`; a changed or moved ciphertext raises :class:`StoreError`."""
        if not blob or blob[:1] != _FORMAT:
            raise StoreError(f"unknown ciphertext format ({context.split(':')[0]})")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], context.encode())
        except InvalidTag:
            # names the table and row id only: the value is what we cannot read
            raise StoreError(f"encrypted value failed authentication ({context})") from None

    # --- keyed hashes
    def identity(self, source: str, source_record_id: str) -> str:
        """The pseudonym of a record's identity (source, source_record_id)."""
        return _mac(self._identity, "identity", source, source_record_id)

    def qkey(self, *parts: str) -> str:
        """A keyed hash for quarantine bookkeeping (file name, row)."""
        return _mac(self._identity, "quarantine", *parts)

    def content(self, canonical: bytes) -> str:
        """A keyed digest of a record's canonical JSON (detects unchanged re-imports)."""
        return _mac_bytes(self._content, canonical)

    def pseudonym(self, field_name: str, value: str) -> str:
        """Keyed HMAC-SHA256 pseudonym of an identifier after normalisation (for linkage and dedup)."""
        return _mac(self._pseudonym, field_name, normalise_identifier(value))

    def audit_mac(self, data: bytes) -> str:
        """HMAC of an audit entry (a chain an attacker without the key cannot recompute)."""
        return _mac_bytes(self._audit, data)


def _mac_bytes(keyed: hmac.HMAC, data: bytes) -> str:
    h = keyed.copy()
    h.update(data)
    return h.hexdigest()


def _mac(keyed: hmac.HMAC, *parts: str) -> str:
    # unit separator between parts: ("ab", "c") and ("a", "bc") must differ
    return _mac_bytes(keyed, "\x1f".join(parts).encode("utf-8"))


def normalise_identifier(value: str) -> str:
    """Normalise an identifier before pseudonymising: NFKC, case-folded, without spaces and punctuation.

    Examples
    --------
    >>> normalise_identifier(" Kim  Min-Ji ")
    'kimminji'
    >>> normalise_identifier("０１０-1234") == normalise_identifier("010 1234")
    True
    """
    text = unicodedata.normalize("NFKC", value).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def new_salt() -> bytes:
    """A fresh 16-byte salt."""
    return secrets.token_bytes(16)


def b64(data: bytes) -> str:
    """Base64 text of bytes."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    """Inverse of :func:`b64`."""
    return base64.b64decode(text.encode("ascii"))
