"""The ``kinto`` command: ``kinto <subcommand> [--ini FILE] [-q | -v] ...``.

Subcommands: ``init``, ``start``, ``migrate``, ``flush-cache``,
``purge-deleted``, ``create-user`` and ``version``. :func:`main` returns the
exit code (see the ``EXIT_*`` constants); it never raises for a user mistake
such as a wrong INI path, which is reported as one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence

import kinto
from kinto import config

DEFAULT_INI = "config/kinto.ini"
DEFAULT_PORT = 8888

EXIT_OK = 0
#: The command failed: file exists (``init``), INI missing or unusable.
EXIT_ERROR = 1
#: Wrong command line (argparse's own code).
EXIT_USAGE = 2
#: ``create-user`` on a read-only server.
EXIT_READONLY = 51
#: ``create-user`` without ``kinto.plugins.accounts`` in ``includes``.
EXIT_ACCOUNTS_DISABLED = 52
#: ``create-user`` aborted by the user (end of input).
EXIT_ABORTED = 53

ACCOUNTS_PLUGIN = "kinto.plugins.accounts"

#: Extra packages a backend needs, checked by ``init`` to give a hint.
_DRIVERS = {
    "postgresql": ("psycopg2", "kinto[postgresql]"),
    "redis": ("redis", "kinto[redis]"),
}

logger = logging.getLogger("kinto.cli")


def main(args: Sequence[str] | None = None) -> int:
    """Run the command line ``args`` (default ``sys.argv[1:]``); return the
    exit code."""
    parser = build_parser()
    try:
        options = parser.parse_args(args)
    except SystemExit as exc:  # --help, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    _setup_logging(options.verbosity)
    return options.handler(options)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; ``--ini`` defaults to ``$KINTO_INI`` as set now."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--ini",
        dest="ini",
        metavar="INI_FILE",
        default=os.environ.get("KINTO_INI", DEFAULT_INI),
        help="configuration file (default: $KINTO_INI or %(default)s)",
    )
    verbosity = common.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-q",
        "--quiet",
        dest="verbosity",
        action="store_const",
        const=logging.CRITICAL,
        default=logging.INFO,
        help="show critical messages only",
    )
    verbosity.add_argument(
        "-v",
        "--debug",
        dest="verbosity",
        action="store_const",
        const=logging.DEBUG,
        help="show debug messages",
    )

    parser = argparse.ArgumentParser(prog="kinto", description="Kinto server commands.")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, title="commands"
    )

    def command(name: str, handler: Callable, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    init = command("init", _init, "Write a new configuration file.")
    init.add_argument(
        "--backend",
        choices=config.STORAGE_BACKENDS,
        default=config.DEFAULT_BACKEND,
        help="storage and permission backend (default: %(default)s)",
    )
    init.add_argument(
        "--cache-backend",
        choices=config.CACHE_BACKENDS,
        default=None,
        help="cache backend (default: same as --backend)",
    )
    init.add_argument(
        "--host",
        default=config.DEFAULT_HOST,
        help="address the server listens on (default: %(default)s)",
    )

    start = command("start", _start, "Run the HTTP server.")
    start.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help="port to listen on (default: %(default)s)",
    )
    start.add_argument("--reload", action="store_true", help="restart when a source file changes")

    migrate = command(
        "migrate",
        _with_app(_migrate, check_schema=False),
        "Create or upgrade the backends' schemas.",
    )
    migrate.add_argument(
        "--dry-run", action="store_true", help="print the SQL that would run, change nothing"
    )

    command("flush-cache", _with_app(_flush_cache), "Empty the cache backend.")

    purge = command(
        "purge-deleted",
        _with_app(_purge_deleted),
        "Delete old tombstones (clients that missed them can no longer sync incrementally).",
    )
    purge.add_argument(
        "resources", nargs="+", metavar="resource", help="resource name, e.g. record"
    )
    purge.add_argument(
        "max_retained",
        metavar="max-retained",
        type=_non_negative,
        help="tombstones to keep in each list",
    )

    create_user = command(
        "create-user", _with_app(_create_user), "Create an account, or reset its password."
    )
    create_user.add_argument("-u", "--username", help="account name (prompted if missing)")
    create_user.add_argument("-p", "--password", help="password (prompted if missing)")

    command("version", _version, "Print the version of Kinto.")
    return parser


def _port(value: str) -> int:
    port = int(value)
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port")
    return port


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return number


def _setup_logging(level: int) -> None:
    # A no-op when the root logger already has handlers (e.g. under pytest).
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    logger.setLevel(level)
    # Alembic lists the plugins it loads: noise unless debugging.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(level, logging.WARNING))


def _fail(message: str, code: int = EXIT_ERROR) -> int:
    """Report a failure as one line on stderr (shown even with ``-q``)."""
    print(f"kinto: {message}", file=sys.stderr)
    return code


def _missing_ini(ini: str) -> int | None:
    if os.path.isfile(ini):
        return None
    return _fail(f"configuration file {ini!r} not found (see --ini and KINTO_INI).")


def kinto_version() -> str:
    """The version of Kinto."""
    return kinto.__version__


# Subcommands that do not need the application.


def _init(options: argparse.Namespace) -> int:
    try:
        path = config.write_config(
            options.ini,
            backend=options.backend,
            cache_backend=options.cache_backend,
            host=options.host,
            version=kinto_version(),
        )
    except FileExistsError:
        return _fail(f"{options.ini} already exists.")
    except OSError as exc:
        return _fail(f"cannot write {options.ini}: {exc.strerror or exc}.")
    logger.info("Configuration written to %s.", path)
    for backend in {options.backend, options.cache_backend}:
        module, extra = _DRIVERS.get(backend, (None, None))
        if module and importlib.util.find_spec(module) is None:
            logger.warning("The %s backend needs: pip install '%s'", backend, extra)
    return EXIT_OK


def _start(options: argparse.Namespace) -> int:
    if (code := _missing_ini(options.ini)) is not None:
        return code
    from pyramid.scripts import pserve

    argv = ["pserve", options.ini, f"http_port={options.port}"]
    if options.reload:
        argv.append("--reload")
    if options.verbosity == logging.DEBUG:
        argv.append("-v")
    elif options.verbosity == logging.CRITICAL:
        argv.append("-q")
    try:
        return pserve.main(argv=argv) or EXIT_OK
    except Exception as exc:  # e.g. a database to migrate first
        # (pserve has configured logging from the INI file by now.)
        if options.verbosity == logging.DEBUG:
            traceback.print_exc()
        return _fail(f"cannot start the server from {options.ini}: {_describe(exc)}")


def _version(options: argparse.Namespace) -> int:
    print(kinto_version())
    return EXIT_OK


# Subcommands run against the application built from the INI file.


def _with_app(
    command: Callable[[argparse.Namespace, dict], int], check_schema: bool = True
) -> Callable:
    """Wrap ``command(options, env)`` so that it receives the environment of
    the application built from ``--ini`` (``pyramid.paster.bootstrap``), inside
    a transaction committed when it returns.

    With ``check_schema=False`` the SQL backends load without checking that
    their schema is migrated (for ``migrate``, which creates it)."""

    def run(options: argparse.Namespace) -> int:
        if (code := _missing_ini(options.ini)) is not None:
            return code
        import transaction
        from pyramid.paster import bootstrap

        try:
            with contextlib.nullcontext() if check_schema else _schema_check_skipped():
                env = bootstrap(options.ini)
        except Exception as exc:
            logger.debug("Application start-up failed", exc_info=True)
            return _fail(f"cannot load the application from {options.ini}: {_describe(exc)}")
        with env, transaction.manager:
            return command(options, env)

    return run


def _schema_check_skipped() -> contextlib.AbstractContextManager:
    """:func:`kinto.core.sql.schema_check_skipped`, or nothing to skip when
    the SQL backends' dependencies are not installed."""
    try:
        from kinto.core.sql import schema_check_skipped
    except ImportError:
        return contextlib.nullcontext()
    return schema_check_skipped()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _migrate(options: argparse.Namespace, env: dict) -> int:
    registry = env["registry"]
    readonly = registry.settings.get("readonly", False)
    for name in ("cache", "storage", "permission"):
        if readonly and name != "cache":
            logger.error("Skipping the %s backend: the server is read-only.", name)
            continue
        backend = getattr(registry, name)
        logger.info("Migrating the %s backend%s.", name, " (dry run)" if options.dry_run else "")
        backend.initialize_schema(dry_run=options.dry_run)
    return EXIT_OK


def _flush_cache(options: argparse.Namespace, env: dict) -> int:
    env["registry"].cache.flush()
    logger.info("The cache has been flushed.")
    return EXIT_OK


def _purge_deleted(options: argparse.Namespace, env: dict) -> int:
    storage = env["registry"].storage
    for resource_name in options.resources:
        count = storage.purge_deleted(
            resource_name=resource_name, parent_id="*", max_retained=options.max_retained
        )
        logger.info("Removed %d %s tombstone(s).", count, resource_name)
    return EXIT_OK


def _create_user(options: argparse.Namespace, env: dict) -> int:
    """Check that accounts can be created, then hand over to the accounts
    plugin: ``kinto.plugins.accounts.scripts.create_user(env, username=...,
    password=...)`` prompts for missing values and returns the exit code."""
    settings = env["registry"].settings
    if settings.get("readonly", False):
        return _fail("cannot create a user on a read-only server.", EXIT_READONLY)
    includes = settings.get("includes") or ()
    if isinstance(includes, str):
        includes = includes.split()
    if ACCOUNTS_PLUGIN not in includes:
        return _fail(
            f"cannot create a user: {ACCOUNTS_PLUGIN} is not in includes.",
            EXIT_ACCOUNTS_DISABLED,
        )
    from kinto.plugins.accounts.scripts import create_user

    return create_user(env, username=options.username, password=options.password)


if __name__ == "__main__":
    sys.exit(main())
