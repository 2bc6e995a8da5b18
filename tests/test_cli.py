import configparser

import pytest

from kinto import __main__ as cli
from kinto.__main__ import main


def app_settings(path):
    parser = configparser.ConfigParser(defaults={"here": str(path.parent), "http_port": "0"})
    parser.read(path, encoding="utf-8")
    return parser["app:main"]


@pytest.fixture
def ini(tmp_path):
    return tmp_path / "config" / "kinto.ini"


# Parsing and exit codes.


def test_a_subcommand_is_required(capsys):
    assert main([]) == cli.EXIT_USAGE
    assert "required" in capsys.readouterr().err


def test_unknown_subcommand_is_a_usage_error(capsys):
    assert main(["rebuild-quotas"]) == cli.EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err


def test_help_exits_successfully(capsys):
    assert main(["--help"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    for name in ("init", "start", "migrate", "flush-cache", "purge-deleted", "create-user"):
        assert name in out


def test_quiet_and_debug_are_exclusive(capsys):
    assert main(["version", "-q", "-v"]) == cli.EXIT_USAGE


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_start_refuses_an_invalid_port(ini, port):
    assert main(["start", "--ini", str(ini), "--port", port]) == cli.EXIT_USAGE


def test_purge_deleted_needs_resources_and_a_count(ini):
    assert main(["purge-deleted", "--ini", str(ini), "record"]) == cli.EXIT_USAGE
    assert main(["purge-deleted", "--ini", str(ini), "record", "-1"]) == cli.EXIT_USAGE


def test_purge_deleted_accepts_several_resources():
    options = cli.build_parser().parse_args(["purge-deleted", "record", "bucket", "group", "10"])

    assert options.resources == ["record", "bucket", "group"]
    assert options.max_retained == 10


def test_ini_defaults_to_kinto_ini_environment_variable(monkeypatch):
    monkeypatch.setenv("KINTO_INI", "/etc/kinto/prod.ini")

    assert cli.build_parser().parse_args(["migrate"]).ini == "/etc/kinto/prod.ini"


def test_ini_defaults_to_config_folder(monkeypatch):
    monkeypatch.delenv("KINTO_INI", raising=False)

    assert cli.build_parser().parse_args(["migrate"]).ini == "config/kinto.ini"


def test_version_prints_the_package_version(capsys):
    assert main(["version"]) == cli.EXIT_OK
    assert capsys.readouterr().out.strip() == cli.kinto_version()


# init


def test_init_writes_the_configuration_file(ini):
    assert main(["init", "--ini", str(ini)]) == cli.EXIT_OK

    settings = app_settings(ini)
    assert settings["kinto.storage_backend"] == "kinto.core.storage.memory"
    assert settings["kinto.cache_backend"] == "kinto.core.cache.memory"


def test_init_writes_to_kinto_ini_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("KINTO_INI", str(tmp_path / "from-env.ini"))

    assert main(["init"]) == cli.EXIT_OK

    assert (tmp_path / "from-env.ini").is_file()


def test_init_writes_to_config_folder_without_kinto_ini(tmp_path, monkeypatch):
    monkeypatch.delenv("KINTO_INI", raising=False)
    monkeypatch.chdir(tmp_path)

    assert main(["init"]) == cli.EXIT_OK

    assert (tmp_path / "config" / "kinto.ini").is_file()


def test_init_refuses_to_overwrite_an_existing_file(ini, capsys):
    ini.parent.mkdir()
    ini.write_text("[app:main]\n")

    assert main(["init", "--ini", str(ini)]) == cli.EXIT_ERROR

    assert ini.read_text() == "[app:main]\n"
    err = capsys.readouterr().err
    assert "already exists" in err
    assert len(err.strip().splitlines()) == 1


def test_init_with_postgresql_backend(ini):
    assert main(["init", "--ini", str(ini), "--backend", "postgresql"]) == cli.EXIT_OK

    settings = app_settings(ini)
    assert settings["kinto.storage_backend"] == "kinto.core.storage.postgresql"
    assert settings["kinto.permission_backend"] == "kinto.core.permission.postgresql"
    assert settings["kinto.cache_backend"] == "kinto.core.cache.postgresql"


def test_init_with_sqlite_backend_and_redis_cache(ini):
    args = ["init", "--ini", str(ini), "--backend", "sqlite", "--cache-backend", "redis"]

    assert main(args) == cli.EXIT_OK

    settings = app_settings(ini)
    assert settings["kinto.storage_backend"] == "kinto.core.storage.sqlite"
    assert settings["kinto.storage_url"] == f"sqlite:///{ini.parent / 'kinto.sqlite'}"
    assert settings["kinto.cache_backend"] == "kinto.core.cache.redis"


def test_init_refuses_an_unknown_backend(ini):
    assert main(["init", "--ini", str(ini), "--backend", "mysql"]) == cli.EXIT_USAGE
    assert not ini.exists()


def test_init_sets_the_server_host(ini):
    assert main(["init", "--ini", str(ini), "--host", "0.0.0.0"]) == cli.EXIT_OK

    parser = configparser.ConfigParser(defaults={"http_port": "0"})
    parser.read(ini)
    assert parser["server:main"]["host"] == "0.0.0.0"


def test_init_reports_an_unwritable_path_in_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")

    assert main(["init", "--ini", str(blocker / "kinto.ini")]) == cli.EXIT_ERROR

    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# A wrong INI path is one line on stderr, never a traceback.


@pytest.mark.parametrize(
    "args",
    [
        ["start"],
        ["migrate"],
        ["migrate", "--dry-run"],
        ["flush-cache"],
        ["purge-deleted", "record", "0"],
        ["create-user", "-u", "bob", "-p", "secret"],
    ],
)
def test_missing_ini_file_is_a_one_line_error(tmp_path, capsys, args):
    missing = tmp_path / "nowhere.ini"

    assert main([*args, "--ini", str(missing)]) == cli.EXIT_ERROR

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(missing) in err
    assert "Traceback" not in err


def test_unparsable_ini_file_is_a_one_line_error(tmp_path, capsys):
    broken = tmp_path / "broken.ini"
    broken.write_text("this is not an INI file\n")

    assert main(["migrate", "--ini", str(broken)]) == cli.EXIT_ERROR

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err
