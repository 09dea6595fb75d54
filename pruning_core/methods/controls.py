"""A method's controls: the settings a user turns to build it from scratch, declared once by the method itself.

Each `Control` says what a widget, a URL parameter and a check need (label, range or choices, step, default, URL
key, help), so any front end draws them without knowing the method (like LIT's `config_spec`). Its `default` is
the one default of the setting: a page starts there, and `registry.build_from_controls` fills in every value not
given from it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

Value = float | str


@dataclass(frozen=True)
class Control:
    """One setting of a method: a number in [low, high] ("float") or one of `choices` ("choice")."""

    name: str                                 # its key in a dict of control values
    label: str
    default: Value
    low: float | None = None                  # float: the range allowed
    high: float | None = None
    step: float | None = None                 # float: a slider's step
    stops: tuple[float, ...] = ()             # float: the values a slider offers, where it offers only some
    choices: Mapping[str, str] | None = None  # choice: each value allowed -> how it reads
    url: str = ""                             # its URL query parameter ("": the name)
    help: str = ""
    applies_when: tuple[str, str] | None = None   # (another control, a value of it): used only then
    on_steps: bool = False                    # float: only low plus a whole number of steps (counts, odd widths)

    def __post_init__(self) -> None:
        if self.choices is None and (self.low is None or self.high is None):
            raise ValueError(f"control {self.name!r} needs choices, or a low and a high.")
        if self.choices is None:   # a float control's numbers are floats, so a slider never mixes ints and floats
            for name in ("low", "high", "step"):
                if getattr(self, name) is not None:
                    object.__setattr__(self, name, float(getattr(self, name)))
        if self.on_steps and not self.step:
            raise ValueError(f"control {self.name!r} has on_steps but no step.")
        self.check(self.default)
        for stop in self.stops:
            self.check(stop)

    @property
    def kind(self) -> str:
        return "float" if self.choices is None else "choice"

    @property
    def url_key(self) -> str:
        return self.url or self.name

    def check(self, value: object) -> Value:
        """The value as this control holds it; ValueError naming the control and the value when it is not allowed."""
        if self.choices is not None:
            if value not in self.choices:
                raise ValueError(f"{self.name} must be one of {', '.join(map(repr, self.choices))}, got {value!r}.")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.low <= value <= self.high:
            raise ValueError(f"{self.name} must be a number in [{self.low:g}, {self.high:g}], got {value!r}.")
        if self.on_steps and not math.isclose((value - self.low) / self.step, round((value - self.low) / self.step),
                                              abs_tol=1e-9):
            raise ValueError(f"{self.name} must be {self.low:g} plus a multiple of {self.step:g}, got {value!r}.")
        return float(value)

    def applies(self, values: Mapping[str, Value]) -> bool:
        """Whether this control is used, given the other controls' values (r_max only with the cascading schedule)."""
        return self.applies_when is None or values.get(self.applies_when[0]) == self.applies_when[1]
