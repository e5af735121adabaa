"""Which model class a file names, resolved against an allow-list.

A file names its model class by registered algorithm name and by
``module.QualName``. Loading accepts only Estimator subclasses that are already
defined in this process: the registered algorithms (``import recommender_systems``
defines them all) and any subclass the caller has imported. Nothing named in a
file is ever imported or executed; a custom model is loaded after its module has
been imported (``recsys ... --import my.models`` does that from the command line).
"""

from __future__ import annotations

import inspect
from typing import Any

from recommender_systems._estimator import Estimator
from recommender_systems.errors import ModelFileError, NotSupportedError
from recommender_systems.registry import OPTIONAL, algorithms, get_algorithm


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def registered_name(cls: type[Estimator]) -> str | None:
    """The registry name of ``cls``, or ``None`` for an unregistered class."""
    return next((a.name for a in algorithms() if a.cls is cls), None)


def class_reference(cls: type[Estimator]) -> dict[str, Any]:
    return {"name": registered_name(cls), "class": qualified_name(cls)}


def allowed_classes() -> dict[str, type[Estimator]]:
    """Every concrete Estimator subclass defined in this process, by qualified name."""
    found: dict[str, type[Estimator]] = {}
    pending: list[type[Estimator]] = [Estimator]
    while pending:
        for sub in pending.pop().__subclasses__():
            if qualified_name(sub) not in found:
                found[qualified_name(sub)] = sub
                pending.append(sub)
    return {name: cls for name, cls in found.items() if not inspect.isabstract(cls)}


def resolve_class(reference: Any) -> type[Estimator]:
    """The class a file's ``{"name": ..., "class": ...}`` reference stands for."""
    if not isinstance(reference, dict) or not isinstance(reference.get("class"), str):
        raise ModelFileError(f"malformed header: bad model class reference {reference!r}")
    name, qualname = reference.get("name"), reference["class"]
    if isinstance(name, str) and name in OPTIONAL:
        try:  # a model of an optional extra: its module registers it
            get_algorithm(name)
        except NotSupportedError as exc:
            raise ModelFileError(f"the file holds a {name!r} model; {exc}") from None
    by_name = {a.name: a.cls for a in algorithms()}
    if isinstance(name, str) and name in by_name:
        return by_name[name]
    allowed = allowed_classes()
    if qualname in allowed:
        return allowed[qualname]
    label = f"algorithm {name!r} ({qualname})" if name else f"class {qualname!r}"
    raise ModelFileError(
        f"the file holds a model of {label}, which is neither a registered algorithm nor a "
        "Estimator subclass defined in this process; model files never import code, so "
        "import the module that defines it first (recsys: --import MODULE)"
    )
