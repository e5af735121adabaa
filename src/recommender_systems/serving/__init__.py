"""An HTTP recommendation service over a saved model (FastAPI + uvicorn).

Needs the ``serve`` extra (``pip install 'recommender-systems[serve]'``). From the
command line: ``recsys serve --model model.recsys``. From Python::

    from recommender_systems.serving import Settings, create_app, run
    run(Settings("model.recsys", unknown_users="popular"), port=8000)

Endpoints: ``GET /recommend``, ``POST /recommend``, ``POST /recommend/history``,
``GET /similar``, ``GET /healthz``, ``GET /info``, ``POST /admin/reload`` (only with
an admin token), and the OpenAPI schema at ``/openapi.json`` (browsable offline at
``/docs`` and ``/redoc``). The served model lives in the server's own memory: its
file can change or vanish without affecting it. See docs/saving-serving.md.
"""

from recommender_systems.serving.app import create_app, run
from recommender_systems.serving.state import ModelHolder, Served, Settings

__all__ = ["ModelHolder", "Served", "Settings", "create_app", "run"]
