"""``recsys list-algos`` and ``recsys datasets list|download``."""

from __future__ import annotations

import argparse

from recommender_systems import datasets
from recommender_systems.registry import OPTIONAL, algorithms


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    algos = commands.add_parser("list-algos", help="list the registered algorithms")
    algos.set_defaults(run=run_list_algos)

    data = commands.add_parser("datasets", help="list or download datasets")
    actions = data.add_subparsers(dest="action", required=True, metavar="{list,download}")
    actions.add_parser("list", help="list the known datasets").set_defaults(run=run_list_datasets)
    download = actions.add_parser("download", help="download and verify a dataset")
    download.add_argument("name", help="dataset name, e.g. ml-100k")
    download.add_argument("--data-home", default=None, help="where to store it")
    download.set_defaults(run=run_download)


def run_list_algos(args: argparse.Namespace) -> int:
    rows = [(a.name, a.family, a.summary) for a in algorithms(optional=True)]
    listed = {name for name, _, _ in rows}
    rows += [
        (name, "-", f"needs the {extra!r} extra: pip install 'recommender-systems[{extra}]'")
        for name, (_, extra) in sorted(OPTIONAL.items())
        if name not in listed
    ]
    name_w = max(len(r[0]) for r in rows)
    fam_w = max(len(r[1]) for r in rows)
    for name, family, summary in rows:
        print(f"{name:<{name_w}}  {family:<{fam_w}}  {summary}")
    return 0


def run_list_datasets(args: argparse.Namespace) -> int:
    for info in datasets.list_datasets():
        print(f"{info.name:<16}  {info.description}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    path = datasets.download(args.name, data_home=args.data_home)
    print(path)
    return 0
