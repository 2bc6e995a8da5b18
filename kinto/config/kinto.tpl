# Kinto configuration, written by `kinto init` on ${created_at}
# for Kinto ${kinto_version}.
#
# Every setting of the [app:main] section below can be overridden from the
# environment: `kinto.storage_url` is read from KINTO_STORAGE_URL (or
# STORAGE_URL), `multiauth.policies` from KINTO_MULTIAUTH_POLICIES, and so on.
# Values are parsed as JSON when they can be (25, true, "text").

[server:main]
use = egg:waitress#main
host = ${host}
# `kinto start --port N` fills in the port (8888 by default).
port = %(http_port)s


[app:main]
use = egg:kinto

# Plugins to load, one per line. A line starting with `#` is disabled.
kinto.includes =
${include_default_bucket}    kinto.plugins.default_bucket
${include_admin}    kinto.plugins.admin
${include_accounts}    kinto.plugins.accounts
#    kinto.plugins.history
#    kinto.plugins.flush
#    kinto.plugins.openid
#    kinto.plugins.prometheus
#    kinto.plugins.statsd

# Backends: where objects, permissions and cached values live.
#   sqlite      one file, no server to run: sqlite:////absolute/path.sqlite
#   postgresql  for production, shared by any number of processes:
#               postgresql://user:password@host:5432/database
#   memory      lost when the process ends (tests, demos)
#   redis       cache only: redis://host:6379/0
# Run `kinto migrate` after changing a SQL backend: it creates the tables.
kinto.storage_backend = ${storage_backend}
kinto.storage_url = ${storage_url}
kinto.permission_backend = ${permission_backend}
kinto.permission_url = ${permission_url}
kinto.cache_backend = ${cache_backend}
kinto.cache_url = ${cache_url}
# kinto.cache_prefix =
# kinto.storage_max_fetch_size = 10000
# kinto.storage_pool_size = 25
# kinto.storage_pool_timeout = 30
# kinto.readonly = false

# Secret keys. They were generated at random for this file: keep them
# private, and keep them stable (changing `userid_hmac_secret` changes the
# user id of every Basic Auth user, and so their permissions).
kinto.userid_hmac_secret = ${userid_hmac_secret}
kinto.default_bucket_hmac_secret = ${default_bucket_hmac_secret}

# Authentication policies, tried in order.
${auth_basicauth}multiauth.policies = basicauth
${auth_accounts}multiauth.policies = account
${auth_accounts}multiauth.policy.account.use = kinto.plugins.accounts.AccountsPolicy
${auth_accounts}kinto.account_create_principals = system.Everyone
${auth_accounts}kinto.account_write_principals = account:admin
${auth_accounts}kinto.bucket_create_principals = account:admin
# multiauth.policy.basicauth.use = kinto.core.authentication.BasicAuthAuthenticationPolicy

# Who may do what, whatever the objects' own permissions say
# (<resource>_<permission>_principals).
# kinto.bucket_create_principals = system.Authenticated
# kinto.bucket_read_principals = system.Authenticated
# kinto.permissions_read_principals = system.Everyone

# API behaviour.
# kinto.project_name = kinto
# kinto.http_host = kinto.example.com
# kinto.http_scheme = https
# kinto.batch_max_requests = 25
# kinto.paginate_by = 100
# kinto.experimental_collection_schema_validation = false
# kinto.experimental_permissions_endpoint = false
# kinto.trailing_slash_redirect_enabled = true
# kinto.record_cache_expires_seconds = 3600
# kinto.bucket_id_generator = kinto.views.NameGenerator
# kinto.record_id_generator = kinto.views.RelaxedUUID

# Cross-origin requests.
# kinto.cors_origins = *
# kinto.cors_max_age_seconds = 3600

# Asking clients to slow down, or announcing the end of the service.
# kinto.backoff = 10
# kinto.backoff_percentage = 10
# kinto.retry_after_seconds = 3
# kinto.eos = 2030-01-01
# kinto.eos_message = "This service will shut down soon."
# kinto.eos_url = https://example.com/announcement

# Listeners notified of every change (a module exposing load_from_config).
# kinto.event_listeners = audit
# kinto.event_listeners.audit.use = my_package.listeners
# kinto.event_listeners.audit.actions = create update delete
# kinto.event_listeners.audit.resources = bucket collection

# Monitoring.
# kinto.statsd_url = udp://localhost:8125
# kinto.sentry_dsn = https://key@sentry.example.com/1
# kinto.sentry_env = production


[loggers]
keys = root, kinto

[handlers]
keys = console

[formatters]
keys = text

[logger_root]
level = INFO
handlers = console

[logger_kinto]
level = DEBUG
handlers = console
qualname = kinto
propagate = 0

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = text

[formatter_text]
format = %(asctime)s %(levelname)-5.5s [%(name)s] %(message)s
