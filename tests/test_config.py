import configparser
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kinto import config


def read_ini(path):
    """Parse an INI file the way PasteDeploy does (``%(here)s`` interpolated)."""
    parser = configparser.ConfigParser(defaults={"here": str(path.parent), "http_port": "8888"})
    parser.read(path, encoding="utf-8")
    return parser


def app_settings(path):
    return dict(read_ini(path)["app:main"])


def test_write_config_creates_missing_folders(tmp_path):
    ini = tmp_path / "a" / "b" / "kinto.ini"

    config.write_config(ini)

    assert ini.is_file()


def test_write_config_never_overwrites_an_existing_file(tmp_path):
    ini = tmp_path / "kinto.ini"
    ini.write_text("mine")

    with pytest.raises(FileExistsError):
        config.write_config(ini)

    assert ini.read_text() == "mine"


def test_written_file_is_readable_by_its_owner_only(tmp_path):
    ini = config.write_config(tmp_path / "kinto.ini")

    assert stat.S_IMODE(os.stat(ini).st_mode) == 0o600


def test_default_config_uses_sqlite_beside_the_ini_file(tmp_path):
    ini = config.write_config(tmp_path / "kinto.ini")

    settings = app_settings(ini)
    expected_url = f"sqlite:///{tmp_path / 'kinto.sqlite'}"
    for kind in ("storage", "permission", "cache"):
        assert settings[f"kinto.{kind}_backend"] == f"kinto.core.{kind}.sqlite"
        assert settings[f"kinto.{kind}_url"] == expected_url


def test_memory_backend_has_no_urls(tmp_path):
    ini = config.write_config(tmp_path / "kinto.ini", backend="memory")

    settings = app_settings(ini)
    assert settings["kinto.storage_backend"] == "kinto.core.storage.memory"
    assert settings["kinto.permission_backend"] == "kinto.core.permission.memory"
    assert settings["kinto.cache_backend"] == "kinto.core.cache.memory"
    assert settings["kinto.storage_url"] == ""
    assert settings["kinto.cache_url"] == ""


def test_server_section_listens_on_host_and_takes_port_from_variable(tmp_path):
    ini = config.write_config(tmp_path / "kinto.ini", host="0.0.0.0")

    server = read_ini(ini)["server:main"]
    assert server["use"] == "egg:waitress#main"
    assert server["host"] == "0.0.0.0"
    assert server["port"] == "8888"
    assert read_ini(ini)["app:main"]["use"] == "egg:kinto"


def test_server_host_defaults_to_loopback(tmp_path):
    ini = config.write_config(tmp_path / "kinto.ini")

    assert read_ini(ini)["server:main"]["host"] == "127.0.0.1"


def test_sqlite_database_is_named_after_the_ini_file(tmp_path):
    ini = config.write_config(tmp_path / "conf" / "prod.ini", backend="sqlite")

    settings = app_settings(ini)
    expected_url = f"sqlite:///{tmp_path / 'conf' / 'prod.sqlite'}"
    assert settings["kinto.storage_backend"] == "kinto.core.storage.sqlite"
    assert settings["kinto.permission_backend"] == "kinto.core.permission.sqlite"
    assert settings["kinto.cache_backend"] == "kinto.core.cache.sqlite"
    assert settings["kinto.storage_url"] == expected_url
    assert settings["kinto.permission_url"] == expected_url
    assert settings["kinto.cache_url"] == expected_url


def test_postgresql_backend_points_at_local_server(tmp_path):
    ini = config.write_config(tmp_path / "kinto.ini", backend="postgresql")

    settings = app_settings(ini)
    assert settings["kinto.storage_backend"] == "kinto.core.storage.postgresql"
    assert settings["kinto.permission_backend"] == "kinto.core.permission.postgresql"
    assert settings["kinto.cache_backend"] == "kinto.core.cache.postgresql"
    for kind in ("storage", "permission", "cache"):
        assert settings[f"kinto.{kind}_url"] == "postgresql://postgres@127.0.0.1/postgres"


def test_cache_backend_can_differ_from_storage_backend(tmp_path):
    ini = config.write_config(tmp_path / "kinto.ini", backend="postgresql", cache_backend="redis")

    settings = app_settings(ini)
    assert settings["kinto.storage_backend"] == "kinto.core.storage.postgresql"
    assert settings["kinto.cache_backend"] == "kinto.core.cache.redis"
    assert settings["kinto.cache_url"] == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    "options", [{"backend": "mysql"}, {"backend": "redis"}, {"cache_backend": "mongodb"}]
)
def test_unknown_backend_is_refused(tmp_path, options):
    with pytest.raises(ValueError):
        config.write_config(tmp_path / "kinto.ini", **options)

    assert not (tmp_path / "kinto.ini").exists()


def test_secrets_are_random_64_hex_digits(tmp_path):
    first = app_settings(config.write_config(tmp_path / "one.ini"))
    second = app_settings(config.write_config(tmp_path / "two.ini"))

    for name in ("kinto.userid_hmac_secret", "kinto.default_bucket_hmac_secret"):
        assert len(first[name]) == 64
        int(first[name], 16)
        assert first[name] != second[name]
    assert first["kinto.userid_hmac_secret"] != first["kinto.default_bucket_hmac_secret"]


def test_header_names_the_version(tmp_path):
    ini = config.write_config(tmp_path / "kinto.ini", version="1.2.3")

    assert "Kinto 1.2.3" in ini.read_text().splitlines()[1]


def test_includes_list_only_plugins_that_can_be_imported(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "_plugin_available", lambda name: name == "admin")

    ini = config.write_config(tmp_path / "kinto.ini")

    assert app_settings(ini)["kinto.includes"].split() == ["kinto.plugins.admin"]


def test_accounts_policy_is_configured_when_the_plugin_exists(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "_plugin_available", lambda name: True)

    settings = app_settings(config.write_config(tmp_path / "kinto.ini"))

    assert settings["kinto.includes"].split() == [
        "kinto.plugins.default_bucket",
        "kinto.plugins.admin",
        "kinto.plugins.accounts",
    ]
    assert settings["multiauth.policies"] == "account"
    assert settings["multiauth.policy.account.use"] == "kinto.plugins.accounts.AccountsPolicy"
    assert settings["kinto.account_create_principals"] == "system.Everyone"
    assert settings["kinto.account_write_principals"] == "account:admin"
    assert settings["kinto.bucket_create_principals"] == "account:admin"


def test_basic_auth_is_configured_without_the_accounts_plugin(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "_plugin_available", lambda name: False)

    settings = app_settings(config.write_config(tmp_path / "kinto.ini"))

    assert settings["kinto.includes"].split() == []
    assert settings["multiauth.policies"] == "basicauth"
    assert "multiauth.policy.account.use" not in settings
    assert "kinto.bucket_create_principals" not in settings


def test_logging_sections_are_loadable_by_the_standard_library(tmp_path):
    ini = config.write_config(tmp_path / "kinto.ini")
    assert read_ini(ini)["logger_kinto"]["qualname"] == "kinto"

    # In a child process: fileConfig replaces every handler of this one.
    script = (
        "import logging, logging.config, sys;"
        "logging.config.fileConfig(sys.argv[1]);"
        "logging.getLogger('kinto.test').info('configured')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(ini)], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert "configured" in result.stderr


def test_example_configuration_serves_after_migrate(tmp_path):
    from kinto.__main__ import main
    from kinto.core.sql import dispose_all

    root = Path(__file__).resolve().parent.parent
    ini = tmp_path / "example.ini"
    shutil.copyfile(root / "config" / "example.ini", ini)

    try:
        assert main(["migrate", "-q", "--ini", str(ini)]) == 0
        assert main(["purge-deleted", "-q", "--ini", str(ini), "record", "0"]) == 0
    finally:
        dispose_all(str(tmp_path / "example.sqlite"))
    assert (tmp_path / "example.sqlite").is_file()
