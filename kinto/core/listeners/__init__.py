"""Event listeners configured in settings (events.md §5).

::

    event_listeners = redis
    event_listeners.redis.use = kinto_redis.listeners
    event_listeners.redis.actions = create delete
    event_listeners.redis.resources = bucket collection

A listener module exposes ``load_from_config(config, prefix)`` returning a
callable ``listener(event)``, usually a :class:`ListenerBase` instance.
``prefix`` is ``"event_listeners.<name>."``: the listener reads its own
options from ``config.get_settings()`` under it.

Listeners are subscribed to :class:`~kinto.core.events.ResourceChanged`
(inside the transaction) for the write actions they follow, and to
:class:`~kinto.core.events.ResourceRead` when ``read`` is listed.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Callable
from typing import Any

from pyramid.exceptions import ConfigurationError
from pyramid.settings import aslist

from kinto.core.events import ACTIONS, ResourceChanged, ResourceRead

DEFAULT_ACTIONS = (ACTIONS.CREATE, ACTIONS.UPDATE, ACTIONS.DELETE)


class ListenerBase(abc.ABC):
    """Base class of configured listeners.

    Subclasses implement :meth:`__call__`; their module exposes
    ``load_from_config(config, prefix)`` that builds an instance from the
    settings under ``prefix``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    @abc.abstractmethod
    def __call__(self, event) -> None:
        """Handle one resource event (see :mod:`kinto.core.events`)."""


class FilteredListener:
    """Subscriber calling ``listener`` for the events whose action and
    resource name pass the configured filters. An event lacking
    ``resource_name`` or ``action`` in its payload passes; an empty
    ``resources`` set means every resource."""

    def __init__(
        self,
        name: str,
        listener: Callable[[Any], None],
        actions: frozenset[str],
        resources: frozenset[str],
    ) -> None:
        self.name = name
        self.listener = listener
        self.actions = actions
        self.resources = resources

    def __call__(self, event) -> None:
        payload = event.payload
        action = payload.get("action")
        if action is not None and action not in self.actions:
            return
        resource_name = payload.get("resource_name")
        if self.resources and resource_name is not None and resource_name not in self.resources:
            return
        self.listener(event)

    def __repr__(self) -> str:
        return f"<FilteredListener {self.name}>"


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return aslist(value)
    return [str(v) for v in value]


def _resolve_module(name: str, settings: dict):
    """Return ``(module, prefix)`` of listener ``name``: a dotted module path
    exposing ``load_from_config``, else the module named by
    ``event_listeners.<name>.use``."""
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        # Only "this name is not a module" falls back to ``.use``; a listener
        # module failing to import its own dependencies is a real error.
        if e.name is None or not (name == e.name or name.startswith(e.name + ".")):
            raise
    else:
        if hasattr(module, "load_from_config"):
            return module, f"event_listeners.{name.rsplit('.', 1)[-1]}."

    prefix = f"event_listeners.{name}."
    dotted = settings.get(prefix + "use")
    if not dotted:
        raise ConfigurationError(
            f"Event listener {name!r} is neither a module nor configured with '{prefix}use'"
        )
    try:
        module = importlib.import_module(dotted)
    except ImportError as e:
        raise ConfigurationError(f"Cannot import event listener module {dotted!r}: {e}") from e
    if not hasattr(module, "load_from_config"):
        raise ConfigurationError(f"Event listener module {dotted!r} has no load_from_config()")
    return module, prefix


def _parse_actions(name: str, value: Any) -> tuple[ACTIONS, ...]:
    names = _as_list(value)
    if not names:
        return DEFAULT_ACTIONS
    try:
        return ACTIONS.from_string_list(names)
    except ValueError as e:
        raise ConfigurationError(f"Event listener {name!r}: unknown action ({e})") from e


def setup_listeners(config) -> list[FilteredListener]:
    """Build and subscribe every listener named in ``event_listeners``;
    returns the subscribers (in settings order)."""
    settings = config.get_settings()
    subscribers = []
    for name in _as_list(settings.get("event_listeners")):
        module, prefix = _resolve_module(name, settings)
        listener = module.load_from_config(config, prefix)
        actions = _parse_actions(name, settings.get(prefix + "actions"))
        resources = frozenset(_as_list(settings.get(prefix + "resources")))
        subscriber = FilteredListener(
            prefix[len("event_listeners.") : -1],
            listener,
            frozenset(action.value for action in actions),
            resources,
        )
        if any(action is not ACTIONS.READ for action in actions):
            config.add_subscriber(subscriber, ResourceChanged)
        if ACTIONS.READ in actions:
            config.add_subscriber(subscriber, ResourceRead)
        subscribers.append(subscriber)
    return subscribers


def includeme(config) -> None:
    """Subscribe the listeners configured in settings and expose them as
    ``registry.configured_listeners`` (e.g. for a metrics plugin to time
    each ``subscriber.listener`` as ``listeners.<subscriber.name>``)."""
    config.registry.configured_listeners = setup_listeners(config)
