"""Listeners configured in settings (events.md §5)."""

import sys
import types

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from kinto.core.events import ACTIONS, ResourceChanged, notify_resource_event
from kinto.core.listeners import FilteredListener, ListenerBase
from kinto.core.request import Request
from kinto.core.settings import load_settings


class Collect(ListenerBase):
    """Keeps ``(resource_name, action)`` of the events it receives."""

    def __init__(self, options):
        super().__init__()
        self.options = options
        self.received = []

    def __call__(self, event):
        self.received.append((event.payload["resource_name"], event.payload["action"]))


def make_listener_module(name):
    """A listener module whose ``load_from_config`` keeps what it built."""
    module = types.ModuleType(name)
    module.built = []

    def load_from_config(config, prefix):
        settings = config.get_settings()
        options = {k[len(prefix) :]: v for k, v in settings.items() if k.startswith(prefix)}
        listener = Collect(options)
        listener.prefix = prefix
        module.built.append(listener)
        return listener

    module.load_from_config = load_from_config
    return module


@pytest.fixture
def audit_module(monkeypatch):
    module = make_listener_module("acme_listeners")
    monkeypatch.setitem(sys.modules, "acme_listeners", module)
    return module


@pytest.fixture
def dotted_module(monkeypatch):
    package = types.ModuleType("acme")
    package.__path__ = []
    module = make_listener_module("acme.hooks")
    package.hooks = module
    monkeypatch.setitem(sys.modules, "acme", package)
    monkeypatch.setitem(sys.modules, "acme.hooks", module)
    return module


def _events_view(request):
    """Notify one event per ``resource:action`` in ``?e=``."""
    for spec in request.params.getall("e"):
        resource_name, action = spec.split(":")
        notify_resource_event(request, resource_name, "/p", 1, [{"new": {"id": "x"}}], action)
    return {}


def make_app(settings):
    config = Configurator(settings=settings, request_factory=Request)
    config.include("kinto.core.events")
    config.add_route("events", "/events")
    config.add_view(_events_view, route_name="events", renderer="json")
    return webtest.TestApp(config.make_wsgi_app())


def fire(app, *specs):
    app.get("/events", params=[("e", spec) for spec in specs])


ALL_KINDS = ("bucket:create", "bucket:update", "record:delete", "record:read")


class TestResolution:
    def test_module_comes_from_use_and_options_from_the_listener_prefix(self, audit_module):
        make_app(
            {
                "event_listeners": "audit",
                "event_listeners.audit.use": "acme_listeners",
                "event_listeners.audit.url": "redis://x",
            }
        )
        (listener,) = audit_module.built
        assert listener.prefix == "event_listeners.audit."
        assert listener.options == {"use": "acme_listeners", "url": "redis://x"}

    def test_dotted_name_is_a_module_and_prefix_uses_its_last_segment(self, dotted_module):
        make_app({"event_listeners": "acme.hooks", "event_listeners.hooks.flag": "1"})
        (listener,) = dotted_module.built
        assert listener.prefix == "event_listeners.hooks."
        assert listener.options == {"flag": "1"}

    def test_importable_name_without_factory_falls_back_to_use(self, audit_module):
        # ``json`` imports fine but is not a listener module.
        make_app({"event_listeners": "json", "event_listeners.json.use": "acme_listeners"})
        assert audit_module.built[0].prefix == "event_listeners.json."

    def test_several_listeners_are_loaded_in_order(self, audit_module, dotted_module):
        app = make_app(
            {
                "event_listeners": "acme.hooks audit",
                "event_listeners.audit.use": "acme_listeners",
            }
        )
        assert len(dotted_module.built) == len(audit_module.built) == 1
        registered = app.app.registry.configured_listeners
        assert [s.name for s in registered] == ["hooks", "audit"]
        assert registered[1].listener is audit_module.built[0]

    def test_listener_list_may_be_a_list(self, audit_module):
        make_app({"event_listeners": ["a"], "event_listeners.a.use": "acme_listeners"})
        assert len(audit_module.built) == 1

    def test_no_listener_configured_is_fine(self):
        make_app({"event_listeners": ""})
        make_app({})

    def test_unknown_name_without_use_is_a_configuration_error(self):
        with pytest.raises(ConfigurationError, match="event_listeners.nothere.use"):
            make_app({"event_listeners": "nothere"})

    def test_use_naming_a_missing_module_is_a_configuration_error(self):
        with pytest.raises(ConfigurationError, match="no_such_module_xyz"):
            make_app({"event_listeners": "a", "event_listeners.a.use": "no_such_module_xyz"})

    def test_use_naming_a_module_without_factory_is_a_configuration_error(self):
        with pytest.raises(ConfigurationError, match="load_from_config"):
            make_app({"event_listeners": "a", "event_listeners.a.use": "json"})

    def test_listener_module_failing_on_its_own_import_is_not_hidden(self, tmp_path, monkeypatch):
        (tmp_path / "broken_listener_mod.py").write_text("import missing_dep_xyz\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.delitem(sys.modules, "broken_listener_mod", raising=False)
        with pytest.raises(ModuleNotFoundError, match="missing_dep_xyz"):
            make_app({"event_listeners": "broken_listener_mod"})

    def test_environment_can_configure_a_listener(self, audit_module):
        settings = load_settings(
            {"event_listeners": "audit"},
            environ={
                "KINTO_EVENT_LISTENERS_AUDIT_USE": "acme_listeners",
                "KINTO_EVENT_LISTENERS_AUDIT_ACTIONS": "delete",
            },
        )
        app = make_app(settings)
        fire(app, *ALL_KINDS)
        assert audit_module.built[0].received == [("record", "delete")]


class TestFilters:
    def test_default_actions_are_writes_only(self, audit_module):
        app = make_app({"event_listeners": "a", "event_listeners.a.use": "acme_listeners"})
        fire(app, *ALL_KINDS)
        assert audit_module.built[0].received == [
            ("bucket", "create"),
            ("bucket", "update"),
            ("record", "delete"),
        ]

    def test_actions_filter_and_read_subscribes_to_read_events(self, audit_module):
        app = make_app(
            {
                "event_listeners": "a",
                "event_listeners.a.use": "acme_listeners",
                "event_listeners.a.actions": "create read",
            }
        )
        fire(app, *ALL_KINDS)
        assert audit_module.built[0].received == [("bucket", "create"), ("record", "read")]

    def test_read_only_listener_gets_no_write_events(self, audit_module):
        app = make_app(
            {
                "event_listeners": "a",
                "event_listeners.a.use": "acme_listeners",
                "event_listeners.a.actions": "read",
            }
        )
        fire(app, *ALL_KINDS)
        assert audit_module.built[0].received == [("record", "read")]

    def test_resources_filter(self, audit_module):
        app = make_app(
            {
                "event_listeners": "a",
                "event_listeners.a.use": "acme_listeners",
                "event_listeners.a.resources": "record collection",
            }
        )
        fire(app, *ALL_KINDS)
        assert audit_module.built[0].received == [("record", "delete")]

    def test_unknown_action_is_a_configuration_error(self, audit_module):
        with pytest.raises(ConfigurationError, match="explode"):
            make_app(
                {
                    "event_listeners": "a",
                    "event_listeners.a.use": "acme_listeners",
                    "event_listeners.a.actions": "create explode",
                }
            )

    def test_events_without_resource_or_action_pass_the_filters(self):
        received = []
        subscriber = FilteredListener(
            "x", received.append, frozenset({"create"}), frozenset({"bucket"})
        )
        event = ResourceChanged({"uri": "/x"}, [], None)
        subscriber(event)
        subscriber(ResourceChanged({"action": "delete", "resource_name": "bucket"}, [], None))
        subscriber(ResourceChanged({"action": "create", "resource_name": "record"}, [], None))
        assert received == [event]

    def test_listener_error_propagates_to_the_request(self, audit_module):
        def refuse(event):
            raise RuntimeError("listener failed")

        audit_module.load_from_config = lambda config, prefix: refuse
        app = make_app({"event_listeners": "a", "event_listeners.a.use": "acme_listeners"})
        with pytest.raises(RuntimeError, match="listener failed"):
            fire(app, "bucket:create")


def test_listener_base_requires_call():
    class Incomplete(ListenerBase):
        pass

    with pytest.raises(TypeError):
        Incomplete()
    assert ACTIONS.CREATE in ("create",)
