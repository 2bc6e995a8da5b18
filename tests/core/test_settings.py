"""Settings loading (settings-cli.md §1)."""

import pytest
from pyramid.exceptions import ConfigurationError

from kinto.core.settings import DEFAULT_SETTINGS, coerce, env_name, load_settings


def load(raw=None, defaults=None, environ=None):
    return load_settings(raw or {}, defaults, environ or {})


def test_defaults_are_used_when_nothing_is_configured():
    settings = load()
    assert settings["storage_backend"] == "kinto.core.storage.memory"
    assert settings["batch_max_requests"] == 25
    assert settings["readonly"] is False


def test_application_defaults_override_core_defaults():
    settings = load(defaults={"project_name": "kinto", "kinto.retry_after_seconds": 3})
    assert settings["project_name"] == "kinto"
    assert settings["retry_after_seconds"] == 3


def test_prefixed_keys_are_stored_without_prefix():
    settings = load({"kinto.storage_backend": "my.storage", "multiauth.policies": "basicauth"})
    assert settings["storage_backend"] == "my.storage"
    assert settings["multiauth.policies"] == "basicauth"
    assert not any(key.startswith("kinto.") for key in settings)


def test_prefixed_and_unprefixed_with_same_value_are_accepted():
    settings = load({"kinto.readonly": "true", "readonly": "true"})
    assert settings["readonly"] is True


def test_prefixed_and_unprefixed_with_different_values_conflict():
    with pytest.raises(ConfigurationError, match="are in conflict"):
        load({"kinto.readonly": "true", "readonly": "false"})


def test_numbers_and_null_are_coerced_from_json():
    settings = load({"batch_max_requests": "10", "paginate_by": "null", "backoff": "2.5"})
    assert settings["batch_max_requests"] == 10
    assert settings["paginate_by"] is None
    assert settings["backoff"] == 2.5


def test_unknown_settings_are_coerced_from_json_when_possible():
    settings = load({"bucket_cache_expires_seconds": "30", "some_name": "hello world"})
    assert settings["bucket_cache_expires_seconds"] == 30
    assert settings["some_name"] == "hello world"


@pytest.mark.parametrize("raw", ["true", "yes", "on", "1", "True"])
def test_boolean_settings_accept_truthy_strings(raw):
    assert load({"readonly": raw})["readonly"] is True


@pytest.mark.parametrize("raw", ["false", "no", "off", "0", ""])
def test_boolean_settings_accept_falsy_strings(raw):
    assert load({"readonly": raw})["readonly"] is False


def test_text_settings_stay_text_even_when_they_look_like_numbers():
    settings = load({"http_api_version": "1.30", "userid_hmac_secret": "12e45"})
    assert settings["http_api_version"] == "1.30"
    assert settings["userid_hmac_secret"] == "12e45"


def test_text_settings_written_as_json_strings_are_unquoted():
    assert load({"project_name": '"my project"'})["project_name"] == "my project"


def test_empty_numeric_setting_stays_empty():
    assert load({"cors_max_age_seconds": ""})["cors_max_age_seconds"] == ""


def test_env_name_replaces_dots_and_dashes_and_upper_cases():
    assert env_name("multiauth.policies") == "MULTIAUTH_POLICIES"
    assert env_name("user-data_delete_principals") == "USER_DATA_DELETE_PRINCIPALS"


def test_environment_overrides_ini_and_defaults():
    settings = load(
        {"kinto.storage_backend": "from.ini"},
        environ={"KINTO_STORAGE_BACKEND": "from.env", "KINTO_BATCH_MAX_REQUESTS": "7"},
    )
    assert settings["storage_backend"] == "from.env"
    assert settings["batch_max_requests"] == 7


def test_prefixed_environment_variable_beats_unprefixed_one():
    settings = load(environ={"READONLY": "false", "KINTO_READONLY": "true"})
    assert settings["readonly"] is True


def test_unprefixed_environment_variable_is_honoured():
    assert load(environ={"READONLY": "true"})["readonly"] is True


def test_dotted_settings_are_overridden_from_the_environment():
    settings = load({"multiauth.policies": "basicauth"}, environ={"MULTIAUTH_POLICIES": "account"})
    assert settings["multiauth.policies"] == "account"


def test_environment_variables_of_unknown_settings_are_ignored():
    settings = load(environ={"KINTO_SOMETHING_UNKNOWN": "1"})
    assert "something_unknown" not in settings
    assert "SOMETHING_UNKNOWN" not in settings


def test_ini_only_settings_are_overridden_from_the_environment():
    settings = load(
        {"kinto.bucket_write_principals": "a"}, environ={"KINTO_BUCKET_WRITE_PRINCIPALS": "b"}
    )
    assert settings["bucket_write_principals"] == "b"


def test_event_listener_options_are_read_from_the_environment():
    settings = load(
        {"event_listeners": "redis"},
        environ={
            "KINTO_EVENT_LISTENERS_REDIS_USE": "my.listener",
            "KINTO_EVENT_LISTENERS_REDIS_ACTIONS": "create",
        },
    )
    assert settings["event_listeners.redis.use"] == "my.listener"
    assert settings["event_listeners.redis.actions"] == "create"


def test_listener_names_from_the_environment_enable_their_options():
    settings = load(
        environ={
            "KINTO_EVENT_LISTENERS": "my.module.audit",
            "KINTO_EVENT_LISTENERS_AUDIT_RESOURCES": "bucket",
        }
    )
    assert settings["event_listeners.audit.resources"] == "bucket"


def test_loading_twice_gives_the_same_settings():
    once = load({"kinto.batch_max_requests": "3", "readonly": "yes"})
    assert load_settings(once, None, {}) == once


def test_uses_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("KINTO_PAGINATE_BY", "12")
    assert load_settings({}, None)["paginate_by"] == 12


def test_every_default_survives_coercion_unchanged():
    for key, value in DEFAULT_SETTINGS.items():
        assert coerce(value, value) == value, key
