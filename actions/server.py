"""`python -m actions.server`: the action server, answering Rasa alone.

rasa-sdk's own server (`python -m rasa_sdk`) listens on every interface and runs any action
for whoever posts a tracker, and these actions read and move citizens' cases. This one
binds GRM_ACTIONS_HOST on GRM_ACTIONS_PORT (loopback unless configured) and refuses, before reading the body,
every call that does not carry the secret Rasa is configured to send (endpoints.yml puts
it in the action endpoint's Authorization header). /health and /ready stay open: they tell
nothing but whether to send it work (/ready answers 503 while triage is loading).
"""

from __future__ import annotations

import argparse
import hmac
import logging
from functools import partial
from typing import Any

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app_for_serve
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from actions.common import triage_ready, use_store, warm_up_triage
from ticketing.config import ACTIONS_TOKEN, Settings, load_settings
from ticketing.store.db import open_store

logger = logging.getLogger("actions.server")

OPEN_PATHS = frozenset({"/health", "/ready"})
# A tracker of a long conversation is a few hundred kilobytes; Sanic's default is 100 MB.
MAX_REQUEST_BYTES = 8 * 1024 * 1024


def caller_is_rasa(request: Request, token: str) -> bool:
    """Whether the request carries the shared secret (compared in constant time)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def create_app(settings: Settings, token: str) -> Sanic[Any, Any]:
    """rasa-sdk's app over this package's actions and the ticket store of `settings`, behind
    the shared secret, without CORS. Triage starts loading at once, so that the first citizen
    to reach a recap finds it ready."""
    use_store(open_store(settings))
    executor = ActionExecutor()
    executor.register_package("actions")
    warm_up_triage()
    app: Sanic[Any, Any] = create_app_for_serve(executor, cors_origins="")
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES

    @app.get("/ready")
    async def ready(request: Request) -> HTTPResponse:
        if triage_ready():
            return response.json({"status": "ready"})
        return response.json({"status": "loading triage"}, status=503)

    @app.on_request
    async def only_rasa(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or caller_is_rasa(request, token):
            return None
        logger.warning("refused a call to the action server without the shared secret")
        return response.json({"error": "unauthorised"}, status=401)

    return app


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(prog="python -m actions.server", description=__doc__.splitlines()[0]).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    host, port = settings.network.actions_host, settings.network.actions_port
    token = ACTIONS_TOKEN.value(settings.var_dir, settings.environment)
    workers = utils.number_of_sanic_workers()
    # Sanic makes the app anew in each worker process from this picklable factory; one
    # worker serves in this process, which then loads the actions (and triage) only once.
    loader = AppLoader(factory=partial(create_app, settings, token))
    app = loader.load()
    app.prepare(host=host, port=port, workers=workers, single_process=workers == 1)
    logger.info("action server on http://%s:%s (Rasa's calls only)", host, port)
    if workers == 1:
        Sanic.serve_single(primary=app)
    else:
        Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
