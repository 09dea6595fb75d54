"""What a benchmark sweep's rows say, before any formatting: which row is the reference, which rows are the trained
models, the fastest pruned setting within a point, accuracy by text length per model, TS-DTP against LTP at the
same speed. A sweep is the rows store.benchmarks() returns for one bench_id (text or images).

The one home of the reference rule (`reference_setting`): a sweep's accuracy is compared with the unpruned model
trained on as many batches as the pruned ones (text's `control`) when the sweep has it, else with the unpruned model
(images, older text sweeps). Its speed-ups are against the setting its config names (`metrics.speed_reference`: the
control on the strongest unpruned path) when the sweep has it, else against that same accuracy reference. The
README's headline, the results tables and the Accuracy vs speed page all ask here.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..metrics import LengthBucket, accuracy_by_length, points_versus, prunes_tokens, speed_reference

CONTROL, UNPRUNED = "control", "unpruned"
# {setting: what it is}, in the order the reference rule prefers them.
REFERENCE_SETTINGS = {CONTROL: "the unpruned model trained on as many batches as the pruned ones",
                      UNPRUNED: "the unpruned model"}
# {model: setting} of each trained model at its trained setting, for sweeps whose config does not say.
TRAINED_SETTINGS = {"baseline (1 epoch, no pruning)": UNPRUNED, "unpruned, equally trained": CONTROL,
                    "LTP": "ltp-x1.0", "top-k, trained with pruning": "topk_trained-0.1", "TS-DTP": "ts_dtp"}
# LTP's weights with every threshold at 0, shown before LTP: the training's cost apart from the pruning's.
LTP_UNPRUNED = ("LTP's weights, nothing pruned", "ltp-x0")
# LTP's weights at the thresholds calibrated before training: what learning the thresholds moved.
LTP_CALIBRATED = ("LTP, thresholds as calibrated (before learning)", "ltp-calibrated")


def sweep_config(sweep: pd.DataFrame) -> dict:
    """The JSON config of the sweep's rows ({} when absent or unreadable)."""
    text = sweep["config"].iloc[0] if "config" in sweep and len(sweep) else None
    try:
        value = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def setting_row(sweep: pd.DataFrame, setting: str | None) -> pd.Series | None:
    """The sweep's (first) row of a setting, None when it has none."""
    rows = sweep[sweep["setting"] == setting]
    return rows.iloc[0] if len(rows) else None


def reference_setting(settings: Iterable[str]) -> str | None:
    """THE reference rule: `control` when the settings hold it, else `unpruned`, else None."""
    present = set(settings)
    return next((name for name in REFERENCE_SETTINGS if name in present), None)


def reference_row(sweep: pd.DataFrame) -> pd.Series | None:
    """The sweep's accuracy reference row (reference_setting), None when it has neither."""
    return setting_row(sweep, reference_setting(sweep["setting"]))


def speed_setting(sweep: pd.DataFrame) -> str | None:
    """The setting the sweep's speed-ups are against: its config's speed reference where the sweep has it, else its
    accuracy reference (older and vision sweeps), else None."""
    present = set(sweep["setting"])
    named = speed_reference(sweep_config(sweep))
    return named if named in present else reference_setting(present)


def speed_row(sweep: pd.DataFrame) -> pd.Series | None:
    return setting_row(sweep, speed_setting(sweep))


def fastest_within(sweep: pd.DataFrame, reference: pd.Series, points: float = 1.0) -> pd.Series | None:
    """The pruned setting with the highest throughput whose accuracy is within `points` of the reference's (never an
    unpruned model, the transformers reference or LTP's weights with nothing pruned: prunes_tokens)."""
    pruned = sweep[sweep.apply(prunes_tokens, axis=1)] if len(sweep) else sweep
    close = pruned[pruned["accuracy"] >= reference["accuracy"] - points / 100 - 1e-9]
    return None if close.empty else close.loc[close["throughput_b32"].idxmax()]


def trained_settings(sweep: pd.DataFrame) -> dict[str, str]:
    """{model: setting} of the sweep's trained models that it holds, from its config or TRAINED_SETTINGS."""
    named = sweep_config(sweep).get("trained_settings")
    present = set(sweep["setting"])
    return {model: setting for model, setting in (named or TRAINED_SETTINGS).items() if setting in present}


def table_settings(sweep: pd.DataFrame) -> dict[str, str]:
    """{model: setting} of the results table's rows: the trained models, with LTP's weights unpruned (`ltp-x0`)
    before LTP and LTP at the thresholds its training started from (`ltp-calibrated`) after it, where the sweep has
    them."""
    named, present = trained_settings(sweep), set(sweep["setting"])
    models = list(named.items())
    at = next((number for number, (_, name) in enumerate(models) if name.startswith("ltp-x")), None)
    if at is None:
        return named
    before = [LTP_UNPRUNED] if LTP_UNPRUNED[1] in present and LTP_UNPRUNED[1] not in named.values() else []
    after = [LTP_CALIBRATED] if LTP_CALIBRATED[1] in present else []
    return dict(models[:at] + before + [models[at]] + after + models[at + 1:])


def lengths_by_model(sweep: pd.DataFrame, points: float = 1.0) -> dict[str, list[LengthBucket]] | None:
    """{model: accuracy by length bucket} for every model of the table (table_settings) and the fastest setting
    within `points` of the control (when it is not one of them), the control's paired difference beside the others;
    None when the sweep has no such model or did not store predictions and lengths."""
    control = setting_row(sweep, CONTROL)
    by_setting = sweep.set_index("setting", drop=False)
    settings = dict(table_settings(sweep))
    best = None if control is None else fastest_within(sweep, control, points)
    if best is not None and best["setting"] not in settings.values():
        settings[f"`{best['setting']}`, the fastest within {points:g} point"] = best["setting"]
    buckets = {model: accuracy_by_length(by_setting.loc[setting], None if setting == CONTROL else control)
               for model, setting in settings.items()}
    return None if not buckets or any(found is None for found in buckets.values()) else buckets


def short_reading(sweep: pd.DataFrame) -> pd.Series | None:
    """The control reading only the first n tokens of each text (`control-{n}`), None when the sweep lacks it."""
    short = sweep[sweep["setting"].str.fullmatch(r"control-\d+")]
    return short.iloc[0] if len(short) else None


class EqualSpeed(NamedTuple):
    """TS-DTP against LTP at TS-DTP's measured speed-up."""

    ts_dtp: pd.Series
    ltp: pd.DataFrame                        # LTP's threshold scales (`ltp-x*`), slowest first
    nearest: pd.Series                       # the one nearest TS-DTP's speed-up
    difference: float                        # TS-DTP minus nearest, in points
    interval: tuple[float, float] | None     # its paired 95% interval, where predictions were stored
    interpolated: float | None               # LTP's accuracy at TS-DTP's speed-up; None outside LTP's span


def equal_speed(sweep: pd.DataFrame) -> EqualSpeed | None:
    """TS-DTP against LTP at the same measured speed-up, LTP's accuracy interpolated over its threshold scales;
    None without TS-DTP or two LTP scales."""
    ts_dtp = setting_row(sweep, "ts_dtp")
    ltp = sweep[sweep["setting"].str.startswith("ltp-x")].sort_values("speedup_b32")
    if ts_dtp is None or len(ltp) < 2:
        return None
    speed = ts_dtp["speedup_b32"]
    nearest = ltp.iloc[int((ltp["speedup_b32"] - speed).abs().argmin())]
    difference, interval = points_versus(ts_dtp, nearest)
    inside = ltp["speedup_b32"].iloc[0] <= speed <= ltp["speedup_b32"].iloc[-1]
    interpolated = float(np.interp(speed, ltp["speedup_b32"], ltp["accuracy"])) if inside else None
    return EqualSpeed(ts_dtp, ltp, nearest, difference, interval, interpolated)
