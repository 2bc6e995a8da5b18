"""The benchmark floor: a bare Pyramid hello-world application.

It goes through the same WSGI server, the same Pyramid router and the same
client as the Kinto scenarios, but does no work of its own, so its request
rate is the ceiling any Kinto endpoint can reach on this machine. Scenario
rates are reported as a ratio to it.
"""

from pyramid.config import Configurator
from pyramid.response import Response

BODY = b'{"hello":"world"}'


def hello(request):
    return Response(body=BODY, content_type="application/json", charset=None)


def make_app():
    """WSGI application answering ``GET /v1/`` with a constant JSON body."""
    with Configurator() as config:
        config.add_route("hello", "/v1/")
        config.add_view(hello, route_name="hello", request_method="GET")
        return config.make_wsgi_app()
