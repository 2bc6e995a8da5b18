"""A plugin (``includes = ... tests.plugins.history.probe``) subscribing to
``ResourceChanged`` after the history plugin: for each event it keeps, in
``registry.history_probe``, how many history entries of bucket ``b``
exist and the status of the request's transaction at that moment."""

from kinto.core.events import ResourceChanged


def includeme(config):
    registry = config.registry
    registry.history_probe = []

    def probe(event):
        request = event.request
        count = registry.storage.count_all("history", "/buckets/b")
        registry.history_probe.append((count, request.tm.get().status))

    config.add_subscriber(probe, ResourceChanged)
