"""An INI-configured listener keeping the payloads and objects of the
``ResourceChanged`` events of an application in
``registry.recorded_events`` (``event_listeners =
tests.plugins.default_bucket.recording``)."""


def load_from_config(config, prefix):
    recorded = config.registry.recorded_events = []

    def listener(event):
        recorded.append((event.payload, event.impacted_objects))

    return listener
