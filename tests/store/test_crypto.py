"""Keys, key derivation, AES-GCM and keyed pseudonyms; schema revision bookkeeping."""

from __future__ import annotations

import os
import sqlite3
import unicodedata
from contextlib import closing
from pathlib import Path

import pytest
from store_helpers import FAST_KDF

from darkfigure.exceptions import InputError, MigrationError, StoreError, WrongKeyError
from darkfigure.store import KdfParams, Key, Store
from darkfigure.store._crypto import StoreKeys, normalise_identifier
from darkfigure.store._store import _MIGRATIONS, SCHEMA_HEAD


def _keys(secret: bytes = b"k" * 32, salt: bytes = b"s" * 16) -> StoreKeys:
    return StoreKeys(Key("keyfile", secret).derive_master(salt, None))


def test_passphrase_rules_and_repr() -> None:
    with pytest.raises(InputError, match="at least 8"):
        Key.from_passphrase("short")
    k = Key.from_passphrase("correct horse battery staple")
    assert "horse" not in repr(k) and "horse" not in str(k)
    # NFC normalisation: the same passphrase typed as composed or decomposed Hangul is the same key
    nfd = unicodedata.normalize("NFD", "비밀번호비밀번호")
    assert Key.from_passphrase(nfd) == Key.from_passphrase("비밀번호비밀번호")


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DARKFIGURE_PASSPHRASE", raising=False)
    with pytest.raises(InputError, match="DARKFIGURE_PASSPHRASE"):
        Key.from_env()
    monkeypatch.setenv("DARKFIGURE_PASSPHRASE", "correct horse battery staple")
    assert Key.from_env() == Key.from_passphrase("correct horse battery staple")


def test_key_file_generation(tmp_path: Path) -> None:
    p = Key.generate_file(tmp_path / "a.key")
    assert p.stat().st_mode & 0o777 == 0o600
    assert len(p.read_bytes().strip()) == 44  # base64 of 32 random bytes
    with pytest.raises(InputError, match="already exists"):
        Key.generate_file(p)
    assert Key.from_file(p) != Key.from_file(Key.generate_file(tmp_path / "b.key"))
    (tmp_path / "short.key").write_bytes(b"abc\n")
    with pytest.raises(InputError, match="too short"):
        Key.from_file(tmp_path / "short.key")
    with pytest.raises(InputError, match="cannot read"):
        Key.from_file(tmp_path / "absent.key")


def test_derivation_depends_on_salt_secret_and_params() -> None:
    pw = Key.from_passphrase("correct horse battery staple")
    a = pw.derive_master(b"1" * 16, FAST_KDF)
    assert a == pw.derive_master(b"1" * 16, FAST_KDF)
    assert a != pw.derive_master(b"2" * 16, FAST_KDF)
    assert a != pw.derive_master(b"1" * 16, KdfParams(memory_cost_kib=2048, iterations=1, lanes=1))
    assert a != Key.from_passphrase("correct horse battery stapler").derive_master(b"1" * 16, FAST_KDF)
    with pytest.raises(WrongKeyError):
        pw.derive_master(b"1" * 16, None)
    assert KdfParams.from_dict(KdfParams().to_dict()) == KdfParams()
    with pytest.raises(StoreError):
        KdfParams.from_dict({"algorithm": "md5"})


def test_aes_gcm_roundtrip_context_binding_and_tamper() -> None:
    k = _keys()
    blob = k.encrypt("가나다라".encode(), "record:r1")
    assert "가나다라".encode() not in blob
    assert k.decrypt(blob, "record:r1") == "가나다라".encode()
    assert k.encrypt(b"x", "c") != k.encrypt(b"x", "c")  # fresh nonce every time
    with pytest.raises(StoreError, match="failed authentication"):
        k.decrypt(blob, "record:r2")  # moved to another row
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(StoreError, match="failed authentication"):
        k.decrypt(flipped, "record:r1")
    with pytest.raises(StoreError, match="failed authentication"):
        _keys(secret=b"z" * 32).decrypt(blob, "record:r1")
    with pytest.raises(StoreError, match="format"):
        k.decrypt(b"\x02" + blob[1:], "record:r1")


def test_keyed_hashes_are_separated_and_keyed() -> None:
    a, b = _keys(), _keys(salt=b"t" * 16)
    assert a.identity("ngo", "1") == _keys().identity("ngo", "1")
    assert a.identity("ngo", "1") != b.identity("ngo", "1")  # another store: unlinkable pseudonyms
    assert a.identity("ng", "o1") != a.identity("ngo", "1")  # parts cannot run into each other
    assert a.pseudonym("name_hangul", "김 민지") == a.pseudonym("name_hangul", "김민지")
    assert a.pseudonym("name_hangul", "김민지") != a.pseudonym("name_hanja", "김민지")
    assert a.check != b.check


def test_normalise_identifier() -> None:
    assert normalise_identifier("Kim Min-Ji") == normalise_identifier("KIM MINJI") == "kimminji"
    assert normalise_identifier("ＫＩＭ") == "kim"


def test_schema_head_constant_matches_migrations() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory(str(_MIGRATIONS)).get_current_head() == SCHEMA_HEAD


def test_store_from_a_newer_darkfigure_is_refused(tmp_path: Path, key: Key) -> None:
    db = tmp_path / "c.db"
    Store.create(db, key).close()
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(MigrationError, match="newer darkfigure"):
        Store.open(db, key)


def test_store_key_wrapping() -> None:
    from darkfigure.store._crypto import unwrap_store_key, wrap_store_key

    kek, data_key = b"a" * 32, os.urandom(32)
    blob = wrap_store_key(kek, data_key, "store1")
    assert data_key not in blob
    assert unwrap_store_key(kek, blob, "store1") == data_key
    with pytest.raises(WrongKeyError):
        unwrap_store_key(b"b" * 32, blob, "store1")
    with pytest.raises(WrongKeyError):
        unwrap_store_key(kek, blob, "store2")  # a wrapped key copied from another store
