"""``recsys COMMAND --help`` explains every option and shows every default."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from recommender_systems.cli import build_parser


def _commands(
    parser: argparse.ArgumentParser, prefix: str = "recsys"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, f"{prefix} {name}")


COMMANDS = dict(_commands(build_parser()))


def _shows_defaults(parser: argparse.ArgumentParser) -> bool:
    formatter = parser.formatter_class
    return isinstance(formatter, type) and issubclass(
        formatter, argparse.ArgumentDefaultsHelpFormatter
    )


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_has_help_and_shows_its_default(name: str) -> None:
    parser = COMMANDS[name]
    silent, hidden_defaults = [], []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        label = "/".join(action.option_strings) or action.dest
        if not action.help or action.help == argparse.SUPPRESS:
            silent.append(label)
            continue
        meaningful = not (
            action.default is None
            or action.default is False
            or action.default == []
            or action.default == argparse.SUPPRESS
        )
        said = "default" in action.help.lower()
        if meaningful and action.option_strings and not _shows_defaults(parser) and not said:
            hidden_defaults.append(f"{label} (default {action.default!r})")
    assert not silent, f"{name}: options without help: {silent}"
    assert not hidden_defaults, f"{name}: help does not show the default of {hidden_defaults}"
