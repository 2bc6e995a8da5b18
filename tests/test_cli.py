import configparser
import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy

from kinto import __main__ as cli
from kinto.__main__ import main
from kinto.core.cache import memory as memory_cache
from kinto.core.sql import dispose_all
from kinto.core.sql.engines import parse_url
from kinto.core.storage import memory as memory_storage
from tests.integration.databases import empty_postgresql_database


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


def test_init_writes_a_configuration_file_using_sqlite_beside_it(ini):
    assert main(["init", "--ini", str(ini)]) == cli.EXIT_OK

    settings = app_settings(ini)
    for kind in ("storage", "permission", "cache"):
        assert settings[f"kinto.{kind}_backend"] == f"kinto.core.{kind}.sqlite"
        assert settings[f"kinto.{kind}_url"] == f"sqlite:///{ini.parent / 'kinto.sqlite'}"


def test_init_with_memory_backend(ini):
    assert main(["init", "--ini", str(ini), "--backend", "memory"]) == cli.EXIT_OK

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


# Subcommands run against the application built from the INI file.
#
# The test INI files point one backend setting at this very module, whose
# load_from_config() hands the application the backend object the test holds:
# the test then sees what the command did to it.

_shared_backend = {}


def load_from_config(config):
    return _shared_backend["instance"]


class RecordingStorage(memory_storage.Storage):
    """Memory storage remembering its schema migrations."""

    def __init__(self):
        super().__init__()
        self.migrations = []

    def initialize_schema(self, dry_run=False):
        self.migrations.append(dry_run)


def use_backend(ini, setting, backend):
    """Point ``kinto.<setting>`` of ``ini`` at ``backend``."""
    _shared_backend["instance"] = backend
    text = ini.read_text()
    text, count = re.subn(rf"(?m)^kinto\.{setting} = .*$", f"kinto.{setting} = {__name__}", text)
    assert count == 1
    ini.write_text(text)
    return backend


@pytest.fixture
def app_ini(ini):
    """A configuration on the memory backends."""
    assert main(["init", "--ini", str(ini), "--backend", "memory"]) == cli.EXIT_OK
    yield ini
    _shared_backend.clear()


@pytest.fixture
def cli_logs(caplog):
    caplog.set_level(logging.DEBUG, logger="kinto.cli")
    caplog.set_level(logging.INFO, logger="kinto.core.sql.migrations")
    return caplog


def test_migrate_on_memory_backends_succeeds(app_ini, cli_logs):
    assert main(["migrate", "--ini", str(app_ini)]) == cli.EXIT_OK

    messages = cli_logs.text
    for name in ("cache", "storage", "permission"):
        assert f"Migrating the {name} backend" in messages


def test_migrate_initializes_the_storage_schema(app_ini):
    storage = use_backend(app_ini, "storage_backend", RecordingStorage())

    assert main(["migrate", "--ini", str(app_ini)]) == cli.EXIT_OK

    assert storage.migrations == [False]


def test_migrate_dry_run_is_passed_to_the_backends(app_ini):
    storage = use_backend(app_ini, "storage_backend", RecordingStorage())

    assert main(["migrate", "--dry-run", "--ini", str(app_ini)]) == cli.EXIT_OK

    assert storage.migrations == [True]


def test_migrate_skips_storage_and_permission_when_readonly(app_ini, cli_logs, monkeypatch):
    monkeypatch.setenv("KINTO_READONLY", "true")
    storage = use_backend(app_ini, "storage_backend", RecordingStorage())

    assert main(["migrate", "--ini", str(app_ini)]) == cli.EXIT_OK

    assert storage.migrations == []
    errors = [r.getMessage() for r in cli_logs.records if r.levelno == logging.ERROR]
    assert errors == [
        "Skipping the storage backend: the server is read-only.",
        "Skipping the permission backend: the server is read-only.",
    ]
    assert "Migrating the cache backend" in cli_logs.text


# migrate on the SQL backends, from an empty database.


def sql_ini(ini, backend, url):
    """Write a configuration on ``backend`` at ``url`` for storage,
    permission and cache."""
    assert main(["init", "--ini", str(ini), "--backend", backend]) == cli.EXIT_OK
    text = re.sub(r"(?m)^(kinto\.\w+_url) = .*$", rf"\1 = {url}", ini.read_text())
    ini.write_text(text)
    return ini


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_ini(request, ini):
    """A configuration on the SQL backend of the parameter, whose database
    has no schema yet."""
    if request.param == "sqlite":
        ini.parent.mkdir(parents=True)
        url = f"sqlite:///{ini.parent / 'kinto.sqlite'}"
        yield sql_ini(ini, "sqlite", url)
        dispose_all(str(ini.parent / "kinto.sqlite"))
    else:
        with empty_postgresql_database("cli_migrate") as url:
            yield sql_ini(ini, "postgresql", url)


def table_names(ini):
    url, _ = parse_url(app_settings(ini)["kinto.storage_url"])
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        return set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()


SCHEMA_TABLES = {
    "objects",
    "timestamps",
    "access_control_entries",
    "user_principals",
    "cache_entries",
    "kinto_storage_version",
    "kinto_permission_version",
    "kinto_cache_version",
}


def test_commands_on_an_unmigrated_database_fail_naming_migrate(empty_database_ini, capsys):
    assert main(["flush-cache", "--ini", str(empty_database_ini)]) == cli.EXIT_ERROR

    err = capsys.readouterr().err
    assert "kinto migrate" in err
    assert err.count("\n") == 1


def test_start_on_an_unmigrated_database_fails_in_one_line_naming_migrate(empty_database_ini):
    args = ["start", "--ini", str(empty_database_ini), "--port", str(free_port())]
    # In a child process: the server configures logging from the INI file.
    result = subprocess.run(
        [sys.executable, "-m", "kinto", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )

    assert result.returncode == cli.EXIT_ERROR
    assert "Traceback" not in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("kinto: cannot start the server")
    assert "kinto migrate" in last_line


def test_migrate_creates_every_schema_of_an_empty_database(empty_database_ini, cli_logs):
    assert main(["migrate", "--ini", str(empty_database_ini)]) == cli.EXIT_OK

    assert SCHEMA_TABLES <= table_names(empty_database_ini)
    # The application now starts: commands that need it work.
    assert main(["flush-cache", "--ini", str(empty_database_ini)]) == cli.EXIT_OK
    args = ["purge-deleted", "--ini", str(empty_database_ini), "record", "0"]
    assert main(args) == cli.EXIT_OK


def test_migrate_twice_changes_nothing_the_second_time(empty_database_ini, cli_logs):
    assert main(["migrate", "--ini", str(empty_database_ini)]) == cli.EXIT_OK
    tables = table_names(empty_database_ini)
    cli_logs.clear()

    assert main(["migrate", "--ini", str(empty_database_ini)]) == cli.EXIT_OK

    assert table_names(empty_database_ini) == tables
    for kind in ("cache", "storage", "permission"):
        assert f"The {kind} schema is up to date" in cli_logs.text


def test_migrate_dry_run_prints_the_sql_and_creates_nothing(empty_database_ini, capsys):
    assert main(["migrate", "--dry-run", "--ini", str(empty_database_ini)]) == cli.EXIT_OK

    out = capsys.readouterr().out
    for table in ("objects", "access_control_entries", "cache_entries"):
        assert re.search(rf"CREATE (UNLOGGED )?TABLE {table} ", out)
    assert table_names(empty_database_ini) == set()


def test_migrate_dry_run_on_a_migrated_database_prints_no_sql(empty_database_ini, capsys):
    assert main(["migrate", "--ini", str(empty_database_ini)]) == cli.EXIT_OK
    capsys.readouterr()

    assert main(["migrate", "--dry-run", "--ini", str(empty_database_ini)]) == cli.EXIT_OK

    assert capsys.readouterr().out == ""


def test_flush_cache_empties_the_cache(app_ini):
    cache = use_backend(app_ini, "cache_backend", memory_cache.Cache())
    cache.set("color", "blue", 3600)

    assert main(["flush-cache", "--ini", str(app_ini)]) == cli.EXIT_OK

    assert cache.get("color") is None


def make_tombstones(storage, resource_name, parent_id, count):
    for i in range(count):
        storage.create(resource_name, parent_id, {"id": f"{resource_name}-{i}"})
        storage.delete(resource_name, parent_id, f"{resource_name}-{i}")


def tombstone_ids(storage, resource_name, parent_id):
    objects = storage.list_all(resource_name, parent_id, include_deleted=True)
    return sorted(obj["id"] for obj in objects if obj.get("deleted"))


def test_purge_deleted_keeps_the_most_recent_tombstones_of_every_list(app_ini, cli_logs):
    storage = use_backend(app_ini, "storage_backend", memory_storage.Storage())
    make_tombstones(storage, "record", "/buckets/a/collections/c", 3)
    make_tombstones(storage, "record", "/buckets/b/collections/c", 2)
    make_tombstones(storage, "bucket", "", 2)
    make_tombstones(storage, "group", "/buckets/a", 2)

    args = ["purge-deleted", "--ini", str(app_ini), "record", "bucket", "1"]
    assert main(args) == cli.EXIT_OK

    assert tombstone_ids(storage, "record", "/buckets/a/collections/c") == ["record-2"]
    assert tombstone_ids(storage, "record", "/buckets/b/collections/c") == ["record-1"]
    assert tombstone_ids(storage, "bucket", "") == ["bucket-1"]
    assert tombstone_ids(storage, "group", "/buckets/a") == ["group-0", "group-1"]
    assert "Removed 3 record tombstone(s)." in cli_logs.text
    assert "Removed 1 bucket tombstone(s)." in cli_logs.text


def test_purge_deleted_with_zero_removes_every_tombstone(app_ini):
    storage = use_backend(app_ini, "storage_backend", memory_storage.Storage())
    make_tombstones(storage, "record", "/buckets/a/collections/c", 2)
    storage.create("record", "/buckets/a/collections/c", {"id": "alive"})

    assert main(["purge-deleted", "--ini", str(app_ini), "record", "0"]) == cli.EXIT_OK

    assert tombstone_ids(storage, "record", "/buckets/a/collections/c") == []
    assert storage.get("record", "/buckets/a/collections/c", "alive")["id"] == "alive"


def test_create_user_needs_the_accounts_plugin(app_ini, capsys, monkeypatch):
    monkeypatch.setenv("KINTO_INCLUDES", "kinto.plugins.flush")
    args = ["create-user", "--ini", str(app_ini), "-u", "alice", "-p", "s3cret"]

    assert main(args) == cli.EXIT_ACCOUNTS_DISABLED

    err = capsys.readouterr().err
    assert "kinto.plugins.accounts" in err
    assert err.count("\n") == 1


def test_create_user_refuses_a_readonly_server(app_ini, capsys, monkeypatch):
    monkeypatch.setenv("KINTO_READONLY", "true")
    args = ["create-user", "--ini", str(app_ini), "-u", "alice", "-p", "s3cret"]

    assert main(args) == cli.EXIT_READONLY

    assert "read-only" in capsys.readouterr().err


def test_backend_that_cannot_be_loaded_is_a_one_line_error(app_ini, capsys):
    text = app_ini.read_text().replace(
        "kinto.core.storage.memory", "kinto.core.storage.nonexistent"
    )
    app_ini.write_text(text)

    assert main(["migrate", "--ini", str(app_ini)]) == cli.EXIT_ERROR

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "kinto.core.storage.nonexistent" in err


# Processes: the server, and app.wsgi.

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_hello(port, process, timeout=60):
    """Poll ``GET /v1/`` until it answers; fail if the process dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/", timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"no answer on port {port} after {timeout} seconds")


@contextlib.contextmanager
def running(args, log_path):
    """Run ``python -m kinto <args>`` in its own process group, and end that
    group (the reloader starts a child) when done."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "kinto", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
        )
        try:
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


@pytest.mark.parametrize("extra", [[], ["--reload"]], ids=["plain", "reload"])
def test_start_serves_the_api_on_the_given_port(app_ini, tmp_path, extra):
    port = free_port()
    args = ["start", "--ini", str(app_ini), "--port", str(port), *extra]

    with running(args, tmp_path / "server.log") as process:
        hello = wait_for_hello(port, process)

    assert hello["http_api_version"] == "1.23"
    assert hello["url"] == f"http://127.0.0.1:{port}/v1/"


def test_app_wsgi_builds_the_application_from_kinto_ini(app_ini):
    script = (
        "import runpy, webtest;"
        "app = runpy.run_path('app.wsgi')['application'];"
        "print(webtest.TestApp(app).get('/v1/').json['http_api_version'])"
    )
    env = {**os.environ, "KINTO_INI": str(app_ini)}

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1.23"
