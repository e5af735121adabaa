"""The search: Optuna's TPE over each model's declared space, scored on a
validation split, with exact shortcuts, pruning and budgets."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from tqdm.auto import tqdm

from recommender_systems.base import Recommender
from recommender_systems.errors import RecsysError
from recommender_systems.hybrid import HybridRecommender
from recommender_systems.hyperparameters import (
    Int,
    OneOf,
    Range,
    Search,
    Seed,
    Threads,
    declared,
    search_space,
)
from recommender_systems.interactions import Interactions, as_interactions
from recommender_systems.progress import Epoch, show_progress
from recommender_systems.registry import get_algorithm
from recommender_systems.tune._report import TrialRecord, TuningReport
from recommender_systems.validation import ValidationSplit, validation_split
from recommender_systems.values import heavy_tailed

#: Points per decade of a swept hyperparameter scored per trial (EASE's λ over
#: 1-1e5: 20 points; kNN's neighbour count over 10-1000: 8), spread evenly on a
#: log scale (a linear range gets ``SWEEP_POINTS_LINEAR``).
SWEEP_POINTS_PER_DECADE = 4
SWEEP_POINTS_LINEAR = 10
#: Checkpoints at which an iterative fit (``epochs``) is scored and may be pruned.
EPOCH_CHECKPOINTS = 6
#: A fit is pruned when its score at a checkpoint is below this share of the best
#: score an earlier trial had reached by the same epoch.
PRUNE_FRACTION = 0.9
#: The default configuration is kept unless the best beats its validation score by
#: more than this share: smaller gains are within the noise of one validation
#: split, and chasing them loses as often as it wins on test data.
DEFAULT_MARGIN = 0.01

_FAILURES = (RecsysError, ValueError, ArithmeticError, np.linalg.LinAlgError, MemoryError)


class _OutOfTime(optuna.TrialPruned):
    """The time budget ran out during a trial."""


@dataclass
class TuningResult:
    """What :func:`tune` returns: the best model, refitted on all the training rows
    (``None`` with ``refit=False``), its parameters and validation score, and the report."""

    model: Recommender | None
    best_params: dict[str, Any]
    best_score: float
    report: TuningReport


class FarBehindPruner(optuna.pruners.BasePruner):
    """Prunes a trial whose score at a checkpoint is below ``fraction`` of the best
    score any earlier trial had reached by the same step (the last step is never
    pruned: the fit is done by then)."""

    def __init__(self, fraction: float = PRUNE_FRACTION) -> None:
        self.fraction = fraction

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        value = trial.intermediate_values[step]
        best = -math.inf
        for other in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            reached = [v for s, v in other.intermediate_values.items() if s <= step]
            if reached:
                best = max(best, max(reached))
        return best > 0 and value < self.fraction * best


@dataclass
class _Clock:
    """A deadline (``None``: no time budget) and the run's start."""

    deadline: float | None
    start: float = field(default_factory=time.monotonic)

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def out(self) -> bool:
        left = self.left()
        return left is not None and left <= 0


class _Recorder:
    """Collects trial records with a progress bar."""

    def __init__(self, report: TuningReport, progress: bool, total: int | None) -> None:
        self.report = report
        self.bar = tqdm(total=total, desc="tuning", disable=not progress, leave=False)
        self.last = time.perf_counter()
        self.best = -math.inf

    def add(
        self,
        family: str,
        params: dict[str, Any],
        score: float | None,
        state: str = "complete",
        note: str = "",
    ) -> TrialRecord:
        now = time.perf_counter()
        record = TrialRecord(
            number=len(self.report.trials),
            family=family,
            params=dict(params),
            score=score,
            seconds=now - self.last,
            state=state,
            note=note,
        )
        self.last = now
        self.report.trials.append(record)
        if score is not None and state == "complete":
            self.best = max(self.best, score)
        self.bar.set_description(f"tuning {family}", refresh=False)
        if self.best > -math.inf:
            self.bar.set_postfix(best=f"{self.best:.4f}", refresh=False)
        self.bar.update()
        return record

    def restart_clock(self) -> None:
        self.last = time.perf_counter()

    def close(self) -> None:
        self.bar.close()


# --------------------------------------------------------------------- spaces
def _grid(search: Range, as_int: bool, default: Any, points: int) -> list[Any]:
    """``points`` values spread over the range, plus the default when inside it."""
    if search.log:
        values = np.geomspace(search.low, search.high, points)
    else:
        values = np.linspace(search.low, search.high, points)
    grid: list[Any] = [round(v) for v in values] if as_int else [float(v) for v in values]
    if isinstance(default, int | float) and search.low <= default <= search.high:
        grid.append(int(default) if as_int else float(default))
    return sorted(set(grid))


def _nearest_first(grid: list[Any], default: Any, log: bool) -> list[Any]:
    """``grid`` ordered by distance from ``default`` (on a log scale if ``log``): a
    sweep cut short by the time budget has then covered the default's neighbourhood."""
    if not isinstance(default, int | float) or (log and default <= 0):
        return list(grid)

    def distance(v: Any) -> float:
        return abs(math.log(v / default)) if log and v > 0 else abs(v - default)

    return sorted(grid, key=lambda v: (distance(v), v))


def _inside(search: Search, value: Any) -> bool:
    if isinstance(search, Range):
        return isinstance(value, int | float) and search.low <= value <= search.high
    return isinstance(search, OneOf) and value in search.choices


@dataclass
class _Plan:
    """How one family is searched: what TPE suggests, what is swept, what is fixed."""

    cls: type[Recommender]
    base: dict[str, Any]
    space: dict[str, Search]
    sweep: str | None = None
    sweep_grid: list[Any] = field(default_factory=list)
    epoch_checkpoints: list[int] = field(default_factory=list)


def _plan(template: Recommender, data: Interactions) -> _Plan:
    cls = type(template)
    base = template.get_params()
    space = dict(search_space(cls))
    decl = declared(cls)
    # Every weighting of identical values ranks the same: nothing to search. On
    # heavy-tailed counts, raw values let a few huge counts decide (and swing
    # between splits): they are not searched either.
    values = space.get("values")
    if isinstance(values, OneOf) and data.nnz:
        if float(np.ptp(data.matrix.data)) == 0.0:
            del space["values"]
        elif heavy_tailed(np.asarray(data.matrix.data, dtype=np.float64)):
            kept = [v for v in values.choices if v != "linear"]
            space["values"] = OneOf(*kept, when=values.when)
    plan = _Plan(cls, base, space)
    sweeps: Sequence[str] = getattr(cls, "sweeps", ())
    for name in sweeps:
        search = space.get(name)
        if isinstance(search, Range) and not search.when:
            as_int = isinstance(decl[name], Int)
            points = (
                max(4, round(SWEEP_POINTS_PER_DECADE * math.log10(search.high / search.low)))
                if search.log
                else SWEEP_POINTS_LINEAR
            )
            grid = _grid(search, as_int, base[name], points)
            if name == "n_neighbors":
                grid = sorted({min(v, max(1, data.n_items - 1)) for v in grid})
            plan.sweep, plan.sweep_grid = name, _nearest_first(grid, base[name], search.log)
            del space[name]
            break
    epochs = space.get("epochs")
    if plan.sweep is None and isinstance(epochs, Range) and not epochs.when:
        plan.epoch_checkpoints = _grid(epochs, True, base["epochs"], EPOCH_CHECKPOINTS)
        del space["epochs"]
    return plan


def _suggest(trial: optuna.Trial, plan: _Plan) -> dict[str, Any]:
    decl = declared(plan.cls)
    chosen = dict(plan.base)
    params: dict[str, Any] = {}
    for name, search in plan.space.items():
        if not search.applies(chosen):
            continue
        value: Any
        if isinstance(search, Range):
            if isinstance(decl[name], Int):
                value = trial.suggest_int(
                    name, math.ceil(search.low), math.floor(search.high), log=search.log
                )
            else:
                value = trial.suggest_float(name, search.low, search.high, log=search.log)
        elif isinstance(search, OneOf):
            value = trial.suggest_categorical(name, list(search.choices))
        else:  # a Search kind this tuner does not know: keep the default
            continue
        params[name] = chosen[name] = value
    return params


def _first_trials(plan: _Plan, limit: int) -> list[dict[str, Any]]:
    """The default configuration first, then the class's ``tuning_starts`` (other
    configurations worth trying first), then every combination of a small, purely
    categorical space (TPE would only repeat them)."""
    defaults = {
        name: plan.base[name]
        for name, search in plan.space.items()
        if search.applies(plan.base) and _inside(search, plan.base[name])
    }
    first = [defaults]
    # Configurations the model suggests trying early (good on other data shapes).
    for start in getattr(plan.cls, "tuning_starts", ()):
        merged = {**plan.base, **start}
        candidate = {
            name: merged[name]
            for name, search in plan.space.items()
            if search.applies(merged) and _inside(search, merged[name])
        }
        if candidate not in first:
            first.append(candidate)
    if plan.space and all(isinstance(s, OneOf) and not s.when for s in plan.space.values()):
        combos: list[dict[str, Any]] = [{}]
        for name, search in plan.space.items():
            assert isinstance(search, OneOf)
            combos = [{**c, name: v} for c in combos for v in search.choices]
        if len(combos) <= limit:
            first += [c for c in combos if c != defaults]
    return first[:limit]


# --------------------------------------------------------------------- search
def _configure(model: Recommender, random_state: int | None, n_threads: int | None) -> None:
    """Seeds a model without its own seed, and sets its threads when asked."""
    for name, hp in declared(type(model)).items():
        if isinstance(hp, Seed) and getattr(model, name) is None and random_state is not None:
            setattr(model, name, random_state)
        if isinstance(hp, Threads) and n_threads is not None:
            setattr(model, name, n_threads)


class _FamilySearch:
    """Searches one model class (a "family") on a validation split."""

    def __init__(
        self,
        family: str,
        template: Recommender,
        split: ValidationSplit,
        recorder: _Recorder,
        clock: _Clock,
        random_state: int,
    ) -> None:
        self.family = family
        self.template = template
        self.split = split
        self.recorder = recorder
        self.clock = clock
        self.plan = _plan(template, split.fit_part)
        self.live_epochs = True
        self.sampler = optuna.samplers.TPESampler(seed=random_state, n_startup_trials=8)

    def run(self, n_trials: int) -> None:
        study = optuna.create_study(
            direction="maximize", sampler=self.sampler, pruner=FarBehindPruner()
        )
        for params in _first_trials(self.plan, n_trials):
            study.enqueue_trial(params)
        if not self.plan.space:  # nothing for TPE to choose: one trial covers it all
            n_trials = 1
        left = self.clock.left()
        self.recorder.restart_clock()
        if left is not None and left <= 0:
            # Out of time: the defaults are still scored, so that every family is
            # compared at least as it would be used without tuning.
            study.optimize(self._objective, n_trials=1, catch=())
            return
        study.optimize(self._objective, n_trials=n_trials, timeout=left, catch=())

    # One trial: suggest, then fit (along a sweep, or with checkpoints), then score.
    def _objective(self, trial: optuna.Trial) -> float:
        params = _suggest(trial, self.plan)
        model = self.template.clone().set_params(**params)
        try:
            if self.plan.sweep is not None:
                return self._swept(trial, model, params)
            if self.plan.epoch_checkpoints:
                return self._with_checkpoints(trial, model, params)
            model.fit(self.split.fit_part)
            score = self.split.score(model)
        except optuna.TrialPruned:
            raise
        except _FAILURES as exc:
            self.recorder.add(self.family, params, None, "failed", _short_error(exc))
            return math.nan
        self.recorder.add(self.family, params, score)
        return score

    def _swept(self, trial: optuna.Trial, model: Recommender, params: dict[str, Any]) -> float:
        name = self.plan.sweep
        assert name is not None
        best, best_value = -math.inf, None
        sweep: Callable[..., Iterator[tuple[Any, Recommender]]] = model._sweep  # type: ignore[attr-defined]
        for value, fitted in sweep(self.split.fit_part, name, self.plan.sweep_grid):
            score = self.split.score(fitted)
            self.recorder.add(self.family, {**params, name: value}, score)
            if score > best:
                best, best_value = score, value
            if self.clock.out():  # the first point, the default, is always scored
                break
        trial.set_user_attr(name, best_value)
        return best

    def _with_checkpoints(
        self, trial: optuna.Trial, model: Recommender, params: dict[str, Any]
    ) -> float:
        checkpoints = self.plan.epoch_checkpoints
        if not self.live_epochs:  # the model cannot be scored mid-fit: epochs is a choice
            epochs = trial.suggest_int("epochs", checkpoints[0], checkpoints[-1])
            model.set_params(epochs=epochs)
            model.fit(self.split.fit_part)
            score = self.split.score(model)
            self.recorder.add(self.family, {**params, "epochs": epochs}, score)
            return score
        scores: dict[int, float] = {}

        def at_epoch(epoch: Epoch) -> None:
            if epoch.model is None or epoch.number not in checkpoints:
                return
            score = self.split.score(epoch.model)
            scores[epoch.number] = score
            trial.report(score, step=epoch.number)
            self.recorder.add(self.family, {**params, "epochs": epoch.number}, score)
            if epoch.number < checkpoints[-1]:
                if trial.should_prune():
                    self.recorder.report.trials[-1].state = "pruned"
                    self.recorder.report.trials[-1].note = "far behind"
                    raise optuna.TrialPruned()
                if self.clock.out() and trial.number > 0:  # the defaults always finish
                    self.recorder.report.trials[-1].state = "pruned"
                    self.recorder.report.trials[-1].note = "out of time"
                    raise _OutOfTime()

        model.set_params(epochs=checkpoints[-1])
        model.fit(self.split.fit_part, callback=at_epoch)
        if not scores:  # not live: score the end, and let TPE choose epochs from now on
            self.live_epochs = False
            score = self.split.score(model)
            self.recorder.add(self.family, {**params, "epochs": checkpoints[-1]}, score)
            return score
        best_epochs = max(scores, key=lambda e: (scores[e], -e))
        trial.set_user_attr("epochs", best_epochs)
        return scores[best_epochs]


def _short_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 160 else text[:157] + "..."


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna's per-trial log lines off (the report and the bar say it all)."""
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            # TPE warns that an enqueued default lies outside a range it does not know.
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(previous)


# ------------------------------------------------------------------- public
def as_template(model: str | type[Recommender] | Recommender) -> Recommender:
    """A model to start from: a registered name, a class or an (unfitted) instance."""
    if isinstance(model, str):
        return get_algorithm(model).create()
    if isinstance(model, type):
        return model()
    return model.clone()


def family_name(model: Recommender) -> str:
    from recommender_systems.persistence.classes import registered_name

    return registered_name(type(model)) or type(model).__name__


def search_families(
    templates: Sequence[Recommender],
    split: ValidationSplit,
    *,
    budget: float | None,
    n_trials: int | Sequence[int],
    shares: Sequence[float] | None = None,
    random_state: int = 0,
    progress: bool = False,
    report: TuningReport | None = None,
    reserve: float = 0.0,
) -> TuningReport:
    """Searches each template's family in turn; the time budget is shared out by
    ``shares`` (default equal), what a family leaves unused passing to the next.
    ``reserve`` is a share of the budget kept back for the caller."""
    report = report or TuningReport(metric=split.metric_name, validation=split.describe())
    trials = [n_trials] * len(templates) if isinstance(n_trials, int) else list(n_trials)
    weights = list(shares) if shares is not None else [1.0] * len(templates)
    start = time.monotonic()
    end = None if budget is None else start + budget * (1.0 - reserve)
    recorder = _Recorder(report, progress, sum(trials) if budget is None else None)
    try:
        with _quiet_optuna():
            for i, template in enumerate(templates):
                deadline = None
                if end is not None:
                    left = end - time.monotonic()
                    deadline = time.monotonic() + left * weights[i] / sum(weights[i:])
                search = _FamilySearch(
                    family_name(template),
                    template,
                    split,
                    recorder,
                    _Clock(deadline),
                    random_state + i,
                )
                search.run(trials[i])
    finally:
        recorder.close()
    report.seconds += time.monotonic() - start
    return report


def chosen_trial(report: TuningReport, family: str, defaults: Mapping[str, Any]) -> TrialRecord:
    """The family's best trial (or, for an iterative model, the most epochs of its
    configuration within :data:`DEFAULT_MARGIN` of it: :func:`most_epochs_within_margin`),
    or its default configuration's when that beats it by no more than
    :data:`DEFAULT_MARGIN` (see there)."""
    record = report.best_of(family)
    if record is None or record.score is None:
        raise RecsysError(
            f"tuning {family}: expected at least one trial to finish, received none "
            "(every trial failed or the budget was too small)"
        )
    default = next(
        (
            t
            for t in report.trials
            if t.family == family
            and t.state == "complete"
            and t.score is not None
            and all(defaults.get(k) == v for k, v in t.params.items())
        ),
        None,
    )
    if (
        default is not None
        and default.score is not None
        and not clearly_beats(record.score, default.score)
    ):
        return default
    return most_epochs_within_margin(report, record)


def most_epochs_within_margin(report: TuningReport, record: TrialRecord) -> TrialRecord:
    """The checkpoint of ``record``'s configuration (the same parameters but
    ``epochs``) with the most epochs that ``record`` does not clearly beat; ``record``
    itself when there is none.

    Why: the epochs that score best on the fit part stop the model early for the
    size of that part, and the refit on all training rows has a quarter more of
    them. Measured with ``auto`` on MovieLens 100k (5 splits), ALS stopped at the
    best checkpoint (5 epochs on 3 splits) scored 0.4546 on the test rows and the
    most epochs within 1% of it 0.4580; 0.3250 and 0.3259 on synthetic play counts.
    """
    assert record.score is not None
    if "epochs" not in record.params:
        return record
    rest = {k: v for k, v in record.params.items() if k != "epochs"}
    longer = [
        t
        for t in report.trials
        if t.family == record.family
        and t.state == "complete"
        and t.score is not None
        and t.params.get("epochs", -1) > record.params["epochs"]
        and {k: v for k, v in t.params.items() if k != "epochs"} == rest
        and not clearly_beats(record.score, t.score)
    ]
    return max(longer, key=lambda t: (t.params["epochs"], -t.number), default=record)


def clearly_beats(challenger: float, incumbent: float) -> bool:
    """Whether a validation score beats another by more than :data:`DEFAULT_MARGIN`
    (the rule for leaving the defaults, and for preferring a hybrid to one model)."""
    return challenger > incumbent * (1.0 + DEFAULT_MARGIN)


def tune(
    model: str | type[Recommender] | Recommender,
    train: Any,
    *,
    budget: float | None = None,
    n_trials: int = 50,
    protocol: str = "random",
    test_size: float = 0.2,
    metric: str = "ndcg",
    k: int = 10,
    random_state: int = 0,
    n_threads: int | None = None,
    progress: bool = False,
    refit: bool = True,
) -> TuningResult:
    """Tunes ``model``'s declared hyperparameters on a validation split of ``train``.

    Args:
        model: a registered name (``"als"``), a class or an unfitted model (its
            hyperparameters that are not searched are kept).
        train: the training interactions only (DataFrame, file or
            :class:`~recommender_systems.interactions.Interactions`): the
            validation split is carved out of them, never out of test rows.
        budget: seconds for the search (``None``: only ``n_trials`` limits it).
        n_trials: at most this many Optuna trials (a sweep trial scores several
            configurations, each reported).
        protocol, test_size, random_state: the validation split
            (:func:`~recommender_systems.validation.validation_split`); use the
            protocol you evaluate with. ``random_state`` also seeds TPE and every
            model without a seed of its own.
        metric, k: what is maximised (NDCG@10 by default).
        n_threads: threads for every model (``None``: keep theirs). With 1 and a
            seed, a trial budget gives the same result on every run.
        progress: show a progress bar.
        refit: refit the best configuration on all of ``train``.

    Returns:
        :class:`TuningResult`: ``model`` (the best configuration refitted on
        ``train``), ``best_params``, ``best_score``, ``report``.
    """
    template = as_template(model)
    _configure(template, random_state, n_threads)
    data = as_interactions(train)
    split = validation_split(
        data, protocol=protocol, test_size=test_size, random_state=random_state, metric=metric, k=k
    )
    report = search_families(
        [template],
        split,
        budget=budget,
        n_trials=n_trials,
        random_state=random_state,
        progress=progress,
    )
    family = family_name(template)
    best = chosen_trial(report, family, template.get_params())
    assert best.score is not None
    params = dict(best.params)
    report.chosen = f"{family} {', '.join(f'{k}={v}' for k, v in params.items())}"
    top = report.best_of(family)
    if top is best:
        report.reason = f"highest validation {split.metric_name} of {len(report.trials)} trials"
    elif top is not None and best is most_epochs_within_margin(report, top):
        report.reason = (
            f"the most epochs within {DEFAULT_MARGIN:.0%} of the highest validation "
            f"{split.metric_name} of {len(report.trials)} trials (the refit has more rows)"
        )
    else:
        report.reason = (
            f"the defaults: no trial beat their validation {split.metric_name} by more "
            f"than {DEFAULT_MARGIN:.0%}"
        )
    fitted = None
    if refit:
        fitted = template.clone().set_params(**params)
        with show_progress(progress):
            fitted.fit(data)
    return TuningResult(fitted, params, float(best.score), report)


def hybrid_of(
    members: Sequence[Recommender], split: ValidationSplit, report: TuningReport, progress: bool
) -> tuple[dict[str, Any], float] | None:
    """Tunes a :class:`HybridRecommender` of ``members`` (configured, unfitted):
    rank fusion (weights and rank constant) and score fusion (weights). Members are
    fitted once on the fit part, every fusion is scored from them. Returns the best
    hybrid's parameters (keyword arguments of the hybrid besides its members) and
    its score."""
    recorder = _Recorder(report, progress, None)
    fusions: list[dict[str, Any]] = [
        {"fusion": "rank", "rank_constant": constant} for constant in (10.0, 60.0)
    ] + [{"fusion": "scores"}]
    try:
        hybrid = HybridRecommender(list(members)).fit(split.fit_part)
        best: tuple[dict[str, Any], float] | None = None
        for weight in (0.2, 0.35, 0.5, 0.65, 0.8):
            weights = [weight, round(1.0 - weight, 4)]
            for fusion in fusions:
                params = {"weights": weights, **fusion}
                view = hybrid.clone()
                vars(view).update(vars(hybrid))
                view.set_params(**params)
                view.weights_ = np.asarray(weights)
                score = split.score(view)
                recorder.add("hybrid", params, score)
                if best is None or score > best[1]:
                    best = (params, score)
        return best
    finally:
        recorder.close()


def confirm(
    hybrid: HybridRecommender, data: Interactions, test_size: float, seed: int
) -> tuple[float, float] | None:
    """Scores of ``hybrid``'s first member and of ``hybrid`` itself (configured,
    unfitted) on a second validation split of ``data`` (seed ``seed + 1``), fitted
    once on its fit part (the member as the hybrid fits it): unlike the scores on
    the split they were chosen on, these carry no selection bias. ``None`` when a
    fit fails there (the caller then decides without them)."""
    try:
        split = validation_split(data, test_size=test_size, random_state=seed + 1)
        fitted = hybrid.clone().fit(split.fit_part, progress=False)
        return split.score(fitted.recommenders_[0]), split.score(fitted)
    except _FAILURES:
        return None


def configured(template: Recommender, params: Mapping[str, Any]) -> Recommender:
    """``template`` with ``params`` set (a fresh, unfitted copy)."""
    return template.clone().set_params(**params)
