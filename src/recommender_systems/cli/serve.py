"""``recsys serve``: the HTTP recommendation service over a saved model."""

from __future__ import annotations

import argparse

from recommender_systems.cli._common import CliError, add_model_option, import_modules


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve a saved model over HTTP (needs the 'serve' extra)",
        description="Serves --model over HTTP: GET /recommend, POST /recommend, POST "
        "/recommend/history, GET /similar, /healthz, /info, /docs. POST /admin/reload or "
        "SIGHUP reloads the model file without dropping requests.",
    )
    add_model_option(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--unknown-users",
        choices=("popular", "empty"),
        default="popular",
        help="what a user unseen in training gets (default: the popularity ranking)",
    )
    parser.add_argument("--max-n", type=int, default=1000, help="largest n accepted")
    parser.add_argument("--max-batch", type=int, default=10_000, help="most users per POST")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from recommender_systems import serving
    except ImportError as exc:
        raise CliError(
            f"serving needs the 'serve' extra: pip install 'recommender-systems[serve]' ({exc})"
        ) from None
    import_modules(args.imports)
    settings = serving.Settings(
        model_path=args.model,
        unknown_users=args.unknown_users,
        max_n=args.max_n,
        max_batch=args.max_batch,
    )
    serving.run(settings, host=args.host, port=args.port, log_level=args.log_level)
    return 0
