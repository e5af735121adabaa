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
    parser.add_argument(
        "--ann",
        action="store_true",
        help="answer from the model file's approximate nearest-neighbour index (built "
        "with model.build_index() before saving; needs the 'ann' extra)",
    )
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
    if args.ann:
        require_index(args.model)
    settings = serving.Settings(
        model_path=args.model,
        unknown_users=args.unknown_users,
        max_n=args.max_n,
        max_batch=args.max_batch,
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
