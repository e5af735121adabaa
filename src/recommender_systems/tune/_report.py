"""The tuning report: every trial with its parameters, score and time; the best;
a plot of score against trial. As a DataFrame, Markdown, JSON or plain dict."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class TrialRecord:
    """One configuration scored on the validation split.

    ``state`` is ``"complete"``, ``"pruned"`` (stopped early: far behind, or out of
    time) or ``"failed"`` (the fit raised; ``note`` says why).
    """

    number: int
    family: str
    params: dict[str, Any]
    score: float | None
    seconds: float
    state: str = "complete"
    note: str = ""


@dataclass
class TuningReport:
    """What a search tried and what it chose (see :func:`recommender_systems.tune.tune`)."""

    metric: str
    validation: dict[str, Any]
    trials: list[TrialRecord] = field(default_factory=list)
    seconds: float = 0.0
    chosen: str = ""
    reason: str = ""

    # ------------------------------------------------------------------ access
    @property
    def best(self) -> TrialRecord | None:
        """The best complete trial (earliest on ties), or ``None``."""
        done = [t for t in self.trials if t.state == "complete" and t.score is not None]
        return max(done, key=lambda t: (t.score, -t.number)) if done else None

    def best_of(self, family: str) -> TrialRecord | None:
        """The best complete trial of one family."""
        done = [
            t
            for t in self.trials
            if t.family == family and t.state == "complete" and t.score is not None
        ]
        return max(done, key=lambda t: (t.score, -t.number)) if done else None

    def families(self) -> list[str]:
        """The families tried, in order of first appearance."""
        return list(dict.fromkeys(t.family for t in self.trials))

    # ------------------------------------------------------------------ output
    def to_frame(self) -> pd.DataFrame:
        """One row per trial: ``trial``, ``family``, ``score``, ``seconds``, ``state``,
        ``note`` and one column per parameter."""
        rows = [
            {
                "trial": t.number,
                "family": t.family,
                "score": t.score,
                "seconds": t.seconds,
                "state": t.state,
                "note": t.note,
                **{f"param.{k}": _plain(v) for k, v in t.params.items()},
            }
            for t in self.trials
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (what ``to_json`` writes and model files store)."""
        best = self.best
        return {
            "metric": self.metric,
            "validation": dict(self.validation),
            "seconds": round(self.seconds, 3),
            "chosen": self.chosen,
            "reason": self.reason,
            "best": None if best is None else _record(best),
            "best_per_family": {
                family: _record(b) for family in self.families() if (b := self.best_of(family))
            },
            "trials": [_record(t) for t in self.trials],
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """The report as JSON (also written to ``path`` when given)."""
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def to_markdown(self, max_rows: int | None = 50) -> str:
        """A summary, the best trial of each family, and the trials (the best
        ``max_rows`` of them; ``None`` for all)."""
        best = self.best
        lines = [f"# Tuning report ({self.metric})", ""]
        v = self.validation
        lines.append(
            f"Validation: {v.get('protocol')} split of the training rows "
            f"(held-out share {v.get('test_size')}, seed {v.get('random_state')}; "
            f"{v.get('fit_rows', '?')} rows fitted, {v.get('held_out_rows', '?')} held out). "
            f"{len(self.trials)} trials in {self.seconds:.1f} s."
        )
        lines.append("")
        if best is not None:
            lines.append(
                f"**Best**: {best.family} {_params_text(best.params)}: "
                f"{self.metric} {best.score:.4f} (trial {best.number})."
            )
        if self.chosen:
            lines.append(f"**Chosen**: {self.chosen}. {self.reason}")
        lines += ["", "| family | best score | trials | parameters |", "|---|---:|---:|---|"]
        for family in self.families():
            b = self.best_of(family)
            count = sum(t.family == family for t in self.trials)
            score = f"{b.score:.4f}" if b and b.score is not None else "-"
            lines.append(
                f"| {family} | {score} | {count} | {_params_text(b.params) if b else '-'} |"
            )
        shown = sorted(self.trials, key=lambda t: -(t.score if t.score is not None else -1.0))
        if max_rows is not None:
            shown = shown[:max_rows]
        lines += [
            "",
            f"| trial | family | {self.metric} | seconds | state | parameters |",
            "|---:|---|---:|---:|---|---|",
        ]
        for t in shown:
            score = "-" if t.score is None else f"{t.score:.4f}"
            note = f" ({t.note})" if t.note else ""
            lines.append(
                f"| {t.number} | {t.family} | {score} | {t.seconds:.2f} | {t.state}{note} "
                f"| {_params_text(t.params)} |"
            )
        return "\n".join(lines) + "\n"

    def plot(self, path: str | Path | None = None) -> Any:
        """Score against trial number (points: trials; line: best so far), as a
        matplotlib Figure, also saved to ``path`` when given."""
        import matplotlib

        if path is not None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for family in self.families():
            points = [
                (t.number, t.score)
                for t in self.trials
                if t.family == family and t.score is not None
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.scatter(xs, ys, s=12, label=family)
        running: list[tuple[int, float]] = []
        best = -math.inf
        for t in self.trials:
            if t.state == "complete" and t.score is not None and t.score > best:
                best = t.score
            if best > -math.inf:
                running.append((t.number, best))
        if running:
            xs, ys = zip(*running, strict=True)
            ax.step(xs, ys, where="post", color="black", linewidth=1, label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(f"{self.metric} (validation)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=110)
            plt.close(fig)
        return fig


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _record(t: TrialRecord) -> dict[str, Any]:
    out = asdict(t)
    out["params"] = {k: _plain(v) for k, v in t.params.items()}
    out["seconds"] = round(t.seconds, 4)
    return out


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in params.items())


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(_plain(value))
