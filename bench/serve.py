"""Serve the Kinto application (from an INI file) or the floor with waitress.

Both servers of a benchmark run go through this launcher with the same
waitress keyword arguments, so the only difference between them is the
application. The server binds an ephemeral port on 127.0.0.1 and writes
``PORT <n>`` on its first stdout line, for the parent to read.

Usage: ``python bench/serve.py (--ini FILE | --floor) --waitress JSON``
"""

import argparse
import json
import logging
import sys

import waitress


def load_app(args):
    if args.floor:
        import floor

        return floor.make_app()

    from pyramid.paster import get_app, setup_logging

    setup_logging(args.ini)
    return get_app(args.ini, "main")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--ini", help="PasteDeploy INI file of the Kinto application")
    which.add_argument("--floor", action="store_true", help="serve the hello-world floor")
    parser.add_argument("--waitress", default="{}", help="waitress settings as a JSON object")
    args = parser.parse_args(argv)

    app = load_app(args)
    # More connections than threads (by design of the load) make waitress
    # warn "Task queue depth is N" on nearly every request; both servers
    # would pay for it differently (the Kinto INI formats log records, the
    # floor has no logging set up), so it is silenced for both.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    settings = json.loads(args.waitress)
    server = waitress.create_server(app, host="127.0.0.1", port=0, **settings)
    print(f"PORT {server.effective_port}", flush=True)
    server.run()


if __name__ == "__main__":
    sys.exit(main())
