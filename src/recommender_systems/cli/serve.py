"""``recsys serve``: the HTTP recommendation service over a saved model."""

from __future__ import annotations

import argparse
import os

from recommender_systems.cli._common import (
    CliError,
    add_model_option,
    add_unknown_users_option,
    import_modules,
)

#: Where ``recsys serve`` reads the admin token when ``--admin-token`` is not given
#: (an environment variable keeps it out of the process list).
ADMIN_TOKEN_ENV = "RECSYS_ADMIN_TOKEN"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve a saved model over HTTP (needs the 'serve' extra)",
        description="Serves --model over HTTP: GET /recommend, POST /recommend, POST "
        "/recommend/history, GET /similar, /healthz, /info, /docs. SIGHUP reloads the "
        "model file without dropping requests; so does POST /admin/reload when the server "
        "has an admin token.",
    )
    add_model_option(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8000, help="port (default 8000; 0: any free port)"
    )
    add_unknown_users_option(parser)
    parser.add_argument("--max-n", type=int, default=1000, help="largest n (default 1000)")
    parser.add_argument(
        "--max-batch", type=int, default=10_000, help="most users per POST (default 10000)"
    )
    parser.add_argument(
        "--max-results",
        type=int,
        default=100_000,
        help="most recommendations per request, users x n (default 100000)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=8 << 20,
        help="largest request body, counted as it arrives (default 8388608)",
    )
    parser.add_argument(
        "--admin-token",
        default=os.environ.get(ADMIN_TOKEN_ENV),
        help=f"enables POST /admin/reload for requests with 'Authorization: Bearer TOKEN' "
        f"(at least 16 characters; default: ${ADMIN_TOKEN_ENV}; without one the admin "
        "endpoints are off)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=LOG_LEVELS,
        help="the service's messages (default info: one line when ready); debug and trace "
        "also show uvicorn's",
    )
    parser.add_argument(
        "--ann",
        action="store_true",
        help="answer from the model file's approximate nearest-neighbour index (built "
        "with model.build_index() before saving; needs the 'ann' extra)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from recommender_systems import serving
    except ImportError as exc:
        raise CliError(
            f"serving needs the 'serve' extra: pip install 'recommender-systems[serve]' ({exc})"
        ) from None
    import_modules(args.imports)
    if args.ann:
        require_index(args.model)
    settings = serving.Settings(
        model_path=args.model,
        unknown_users=None if args.unknown_users == "model" else args.unknown_users,
        max_n=args.max_n,
        max_batch=args.max_batch,
        max_results=args.max_results,
        max_body_bytes=args.max_body_bytes,
        admin_token=args.admin_token or None,
    )
    serving.run(settings, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def require_index(path: str) -> None:
    """Fails fast unless the extra is installed and the model file holds an index.

    A model holding an index answers from it by default, so the server needs
    nothing more; building one at start-up for a file without is the server's
    hook, :func:`recommender_systems.ann.ensure_index`.
    """
    from recommender_systems.persistence import read_info

    try:
        import recommender_systems.ann  # noqa: F401
    except ImportError as exc:
        raise CliError(f"--ann: {exc}") from None
    if "item_index_" not in read_info(path).state:
        raise CliError(
            f"--ann: expected a model file holding an approximate index, received {path}, "
            "which holds none (build it with model.build_index() before model.save())"
        )
