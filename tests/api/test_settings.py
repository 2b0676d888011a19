from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import SettingsError, load_settings


def test_defaults_need_no_variable() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.embedded_database
    assert settings.symbiose_port == 8000


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SYMBIOSE_PORT", "eighty"),
        ("SYMBIOSE_PORT", "70000"),
        ("LOG_LEVEL", "LOUD"),
        ("DATABASE_URL", "mysql://localhost/x"),
        ("DATABASE_POOL_MAX_SIZE", "0"),
    ],
)
def test_an_invalid_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings({variable: value}, env_file=None)


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SYMBIOSE_PORT=9001\nLOG_LEVEL=DEBUG\n")
    settings = load_settings({"LOG_LEVEL": "WARNING"}, env_file=env_file)
    assert settings.symbiose_port == 9001
    assert settings.log_level == "WARNING"


def test_empty_values_count_as_unset() -> None:
    assert load_settings({"DATABASE_URL": ""}, env_file=None).embedded_database


def test_data_dir_is_read_as_a_path() -> None:
    assert load_settings({"SYMBIOSE_DATA_DIR": "/srv/symbiose"}, env_file=None).data_dir == Path(
        "/srv/symbiose"
    )
