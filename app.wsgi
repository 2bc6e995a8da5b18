"""WSGI entry point for servers such as mod_wsgi, uWSGI or gunicorn.

``application`` is built from the INI file named by the ``KINTO_INI``
environment variable (default ``config/kinto.ini``, relative to the working
directory), whose logging sections configure logging.
"""

import os

from pyramid.paster import get_app, setup_logging

ini_path = os.path.abspath(os.environ.get("KINTO_INI", "config/kinto.ini"))
setup_logging(ini_path)
application = get_app(ini_path, "main")
