"""The INI file of a new Kinto instance, as written by ``kinto init``.

:func:`render_config` fills the ``kinto.tpl`` template beside this module;
:func:`write_config` writes the result to disk without ever overwriting a file.
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import secrets
import string
from pathlib import Path

TEMPLATE_PATH = Path(__file__).with_name("kinto.tpl")

#: Backends ``kinto init --backend`` accepts (storage and permission).
STORAGE_BACKENDS = ("memory", "sqlite", "postgresql")
#: Backends ``kinto init --cache-backend`` accepts.
CACHE_BACKENDS = ("memory", "sqlite", "postgresql", "redis")
#: SQLite: persistent, with no server to install.
DEFAULT_BACKEND = "sqlite"
DEFAULT_HOST = "127.0.0.1"

#: A local server's ``postgres`` database as its ``postgres`` user (edit it:
#: ``postgresql://user:password@host:port/database``).
POSTGRESQL_URL = "postgresql://postgres@127.0.0.1/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"

#: Plugins the template enables when they are importable. Until a plugin
#: exists, its line is written commented out so that the file still starts.
OPTIONAL_PLUGINS = ("default_bucket", "admin", "accounts")

# What starts a disabled line: a comment, aligned with enabled lines.
_DISABLED = "# "
_DISABLED_INCLUDE = "#"


def backend_url(backend: str, ini_path: str | os.PathLike) -> str:
    """Return the ``*_url`` value written for ``backend``.

    SQLite databases live beside the INI file, named after it
    (``config/kinto.ini`` → ``config/kinto.sqlite``); the path is written with
    PasteDeploy's ``%(here)s`` so that it does not depend on the working
    directory.
    """
    if backend == "sqlite":
        return f"sqlite:///%(here)s/{Path(ini_path).stem}.sqlite"
    if backend == "postgresql":
        return POSTGRESQL_URL
    if backend == "redis":
        return REDIS_URL
    return ""


def _plugin_available(name: str) -> bool:
    return importlib.util.find_spec(f"kinto.plugins.{name}") is not None


def render_config(
    ini_path: str | os.PathLike,
    *,
    backend: str = DEFAULT_BACKEND,
    cache_backend: str | None = None,
    host: str = DEFAULT_HOST,
    version: str = "",
) -> str:
    """Return the text of a new INI file meant to be saved at ``ini_path``.

    ``backend`` (one of :data:`STORAGE_BACKENDS`) is used for storage and
    permissions; ``cache_backend`` (one of :data:`CACHE_BACKENDS`) defaults to
    ``backend``. Both secrets are fresh random 64-hex-digit strings. Raises
    ``ValueError`` for an unknown backend.
    """
    if cache_backend is None:
        cache_backend = backend
    if backend not in STORAGE_BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}")
    if cache_backend not in CACHE_BACKENDS:
        raise ValueError(f"Unknown cache backend {cache_backend!r}")

    accounts = _plugin_available("accounts")
    values = {
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "kinto_version": version or "(unknown version)",
        "host": host,
        "storage_backend": f"kinto.core.storage.{backend}",
        "storage_url": backend_url(backend, ini_path),
        "permission_backend": f"kinto.core.permission.{backend}",
        "permission_url": backend_url(backend, ini_path),
        "cache_backend": f"kinto.core.cache.{cache_backend}",
        "cache_url": backend_url(cache_backend, ini_path),
        "userid_hmac_secret": secrets.token_hex(32),
        "default_bucket_hmac_secret": secrets.token_hex(32),
        "auth_basicauth": _DISABLED if accounts else "",
        "auth_accounts": "" if accounts else _DISABLED,
    }
    for plugin in OPTIONAL_PLUGINS:
        values[f"include_{plugin}"] = "" if _plugin_available(plugin) else _DISABLED_INCLUDE
    template = string.Template(TEMPLATE_PATH.read_text(encoding="utf-8"))
    return template.substitute(values)


def write_config(path: str | os.PathLike, **options) -> Path:
    """Write a new INI file at ``path`` (see :func:`render_config` for the
    options), creating missing folders.

    The file is readable by its owner only, since it holds secrets. Raises
    ``FileExistsError`` if ``path`` already exists: an existing configuration
    is never overwritten.
    """
    path = Path(path)
    text = render_config(path, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8", opener=_private_opener) as ini:
        ini.write(text)
    return path


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
