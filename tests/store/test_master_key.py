"""Every process of a store holds the key that sealed its secrets, or refuses to start."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, func, select

from streampanel.secretbox import MasterKeyMissing, SecretBox, load_secret_box
from streampanel.settings import Settings
from streampanel.store import accounts
from streampanel.store.engine import create_store_engine, write_transaction
from streampanel.store.keycheck import MasterKeyMismatch, ensure_master_key, read_check_value
from streampanel.store.schema import migrate_schema
from streampanel.store.tables.keycheck import master_key_check


@pytest.fixture
def migrated_engine(empty_store_url: str) -> Iterator[Engine]:
    engine = create_store_engine(empty_store_url)
    migrate_schema(engine)
    yield engine
    engine.dispose()


def new_box() -> SecretBox:
    return SecretBox(Fernet.generate_key())


def check_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(master_key_check)).scalar_one())


def test_the_first_key_is_recorded_and_another_is_refused(migrated_engine: Engine) -> None:
    first = new_box()
    ensure_master_key(migrated_engine, first)
    ensure_master_key(migrated_engine, first)  # the same key again: fine
    assert check_rows(migrated_engine) == 1
    with migrated_engine.connect() as conn:
        sealed = read_check_value(conn)
    assert sealed is not None and first.opens_check_value(sealed)

    with pytest.raises(MasterKeyMismatch) as refused:
        ensure_master_key(migrated_engine, new_box())
    assert "master key differs from the one that sealed this store's secrets" in str(refused.value)
    assert check_rows(migrated_engine) == 1


def test_secrets_sealed_before_the_check_existed_decide_which_key_is_recorded(
    migrated_engine: Engine,
) -> None:
    # A store from a release without the check value: secrets, no check row.
    sealer = new_box()
    with write_transaction(migrated_engine) as conn:
        accounts.create_account(conn, 7, "older")
        accounts.create_api_key(conn, sealer, 7)
    with pytest.raises(MasterKeyMismatch):
        ensure_master_key(migrated_engine, new_box())
    assert check_rows(migrated_engine) == 0  # a wrong key is never recorded
    ensure_master_key(migrated_engine, sealer)
    assert check_rows(migrated_engine) == 1


def test_a_postgresql_store_never_invents_a_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://db.invalid/sp")
    with pytest.raises(MasterKeyMissing) as missing:
        load_secret_box(settings)
    assert "streampanel admin master-key generate" in str(missing.value)
    assert not (tmp_path / "master.key").exists()


def test_a_sqlite_store_makes_its_own_0600_key_file_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="")
    box = load_secret_box(settings)
    key_file = tmp_path / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = box.seal("x")
    assert load_secret_box(settings).open(sealed) == "x"  # read back, not replaced


def test_a_key_file_is_read_and_a_loose_one_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = Fernet.generate_key()
    key_file = tmp_path / "given.key"
    key_file.write_bytes(key + b"\n")
    key_file.chmod(0o644)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url="postgresql+psycopg://db.invalid/sp",
        master_key_file=key_file,
    )
    box = load_secret_box(settings)
    assert SecretBox(key).open(box.seal("x")) == "x"
    assert "readable by other users" in caplog.text
    assert not (tmp_path / "data" / "master.key").exists()
