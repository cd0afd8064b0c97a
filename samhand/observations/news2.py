"""NEWS2, exactly as the Royal College of Physicians' 2017 chart defines it.

A pure function with no Django imports, so that people outside the project can check
it against the published chart (RCP, *National Early Warning Score (NEWS) 2*, 2017,
chart 1 "The NEWS scoring system" and chart 4 "Clinical response to the NEWS trigger
thresholds"; the bands are repeated in shared/standards.md §D):

    >>> r = score(respiration_rate=22, spo2=95, on_oxygen=False, systolic_bp=105,
    ...           pulse=95, consciousness="A", temperature=38.2)
    >>> r.total, r.risk, r.subscores["respiration_rate"]
    (6, 'medium', 2)

* A missing parameter gives **no total** and is named in `missing`; the sub-scores
  of the parameters that were measured are still given (a single red parameter is
  still seen), but never a silently lower total.
* An impossible value (SpO2 140, a respiration rate of −3, a temperature of 3.7 that
  was meant as 37) raises `InvalidObservation` naming every problem; nothing is scored.
  A value that is possible but unusual (a pulse of 230) is refused until the caller
  passes its name in `confirmed`.
* Temperature is rounded to one decimal (half up) before it is scored, as the chart
  is written to one decimal (36.05 → 36.1 scores 0, 36.04 → 36.0 scores 1).
* SpO2 scale 2 is for confirmed hypercapnic respiratory failure only, when a clinician
  has ordered it; on scale 2 high saturations on oxygen score too (93-94 → 1, 95-96 →
  2, ≥97 → 3), and 88-92 or ≥93 on air score 0.
* Consciousness is ACVPU: Alert scores 0; new Confusion, Voice, Pain, Unresponsive 3.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

PARAMETERS = ("respiration_rate", "spo2", "air_or_oxygen", "systolic_bp", "pulse",
              "consciousness", "temperature")

LOW, LOW_MEDIUM, MEDIUM, HIGH = "low", "low-medium", "medium", "high"
RISKS = (LOW, LOW_MEDIUM, MEDIUM, HIGH)

CONSCIOUSNESS_LEVELS = ("A", "C", "V", "P", "U")
_CONSCIOUSNESS_WORDS = {
    "a": "A", "alert": "A",
    "c": "C", "confusion": "C", "new_confusion": "C", "new confusion": "C",
    "v": "V", "voice": "V",
    "p": "P", "pain": "P",
    "u": "U", "unresponsive": "U",
}


# --------------------------------------------------------------------------- errors

@dataclass(frozen=True)
class Problem:
    """One value that cannot be scored as given.

    code: "missing_type" (not a number), "not_whole" (a count with decimals),
    "impossible" (cannot be true: refused), "unit_slip" (looks like a slipped decimal
    point: refused, with `suggestion`), "implausible" (possible but unusual: refused
    unless confirmed).
    """

    parameter: str
    value: Any
    code: str
    message: str
    suggestion: Any = None

    @property
    def needs_confirmation(self) -> bool:
        return self.code == "implausible"


class InvalidObservation(ValueError):
    """The observation cannot be scored; `problems` names every value that is wrong."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


# Hard limits: outside them a value cannot be a measurement of a living adult.
# Soft limits: outside them (but inside the hard ones) a value must be confirmed.
#                  hard_low, soft_low, soft_high, hard_high
LIMITS: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {
    "respiration_rate": (Decimal(0), Decimal(4), Decimal(60), Decimal(100)),
    "spo2": (Decimal(0), Decimal(60), Decimal(100), Decimal(100)),
    "systolic_bp": (Decimal(1), Decimal(50), Decimal(280), Decimal(350)),
    "pulse": (Decimal(1), Decimal(25), Decimal(220), Decimal(300)),
    "temperature": (Decimal(20), Decimal(30), Decimal("43.0"), Decimal(45)),
}
UNITS = {"respiration_rate": "/min", "spo2": "%", "systolic_bp": "mmHg", "pulse": "/min",
         "temperature": "°C"}
LABELS = {"respiration_rate": "Respiration rate", "spo2": "SpO2",
          "air_or_oxygen": "Air or oxygen", "systolic_bp": "Systolic blood pressure",
          "pulse": "Pulse", "consciousness": "Consciousness", "temperature": "Temperature"}


def _number(parameter: str, value: Any, whole: bool, problems: list[Problem]) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        problems.append(Problem(parameter, value, "missing_type",
                                f"{LABELS[parameter]} must be a number."))
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        problems.append(Problem(parameter, value, "missing_type",
                                f"{LABELS[parameter]} must be a number."))
        return None
    if not number.is_finite():
        problems.append(Problem(parameter, value, "missing_type",
                                f"{LABELS[parameter]} must be a number."))
        return None
    if whole and number != number.to_integral_value():
        problems.append(Problem(parameter, value, "not_whole",
                                f"{LABELS[parameter]} must be a whole number."))
        return None
    return number


def _check_range(parameter: str, number: Decimal, confirmed: Collection[str],
                 problems: list[Problem]) -> bool:
    hard_low, soft_low, soft_high, hard_high = LIMITS[parameter]
    unit = UNITS[parameter]
    label = LABELS[parameter]
    if number < hard_low or number > hard_high:
        if parameter == "temperature" and hard_low <= number * 10 <= hard_high:
            suggestion = number * 10
            problems.append(Problem(
                parameter, number, "unit_slip",
                f"{label} {number} {unit} is not possible. Did you mean {suggestion} {unit}? "
                f"Check the value and enter it again.", suggestion))
        else:
            problems.append(Problem(
                parameter, number, "impossible",
                f"{label} {number} {unit} is not possible (it must be between {hard_low} "
                f"and {hard_high} {unit})."))
        return False
    if (number < soft_low or number > soft_high) and parameter not in confirmed:
        problems.append(Problem(
            parameter, number, "implausible",
            f"{label} {number} {unit} is very unusual. Measure again, and confirm the "
            f"value if it is right."))
        return False
    return True


def normalise_consciousness(value: Any) -> str | None:
    """"A", "alert", "new confusion", … → one of A C V P U; None when not given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _CONSCIOUSNESS_WORDS.get(str(value).strip().lower())


def round_temperature(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- bands

def score_respiration_rate(rate: int) -> int:
    if rate <= 8:
        return 3
    if rate <= 11:
        return 1
    if rate <= 20:
        return 0
    if rate <= 24:
        return 2
    return 3


def score_spo2_scale1(spo2: int) -> int:
    if spo2 <= 91:
        return 3
    if spo2 <= 93:
        return 2
    if spo2 <= 95:
        return 1
    return 0


def score_spo2_scale2(spo2: int, on_oxygen: bool) -> int:
    if spo2 <= 83:
        return 3
    if spo2 <= 85:
        return 2
    if spo2 <= 87:
        return 1
    if spo2 <= 92 or not on_oxygen:
        return 0  # 88-92, or ≥93 on air
    if spo2 <= 94:
        return 1
    if spo2 <= 96:
        return 2
    return 3


def score_air_or_oxygen(on_oxygen: bool) -> int:
    return 2 if on_oxygen else 0


def score_systolic_bp(sbp: int) -> int:
    if sbp <= 90:
        return 3
    if sbp <= 100:
        return 2
    if sbp <= 110:
        return 1
    if sbp <= 219:
        return 0
    return 3


def score_pulse(pulse: int) -> int:
    if pulse <= 40:
        return 3
    if pulse <= 50:
        return 1
    if pulse <= 90:
        return 0
    if pulse <= 110:
        return 1
    if pulse <= 130:
        return 2
    return 3


def score_consciousness(level: str) -> int:
    return 0 if level == "A" else 3


def score_temperature(temperature: Decimal) -> int:
    t = round_temperature(temperature)
    if t <= Decimal("35.0"):
        return 3
    if t <= Decimal("36.0"):
        return 1
    if t <= Decimal("38.0"):
        return 0
    if t <= Decimal("39.0"):
        return 1
    return 2


# --------------------------------------------------------------------------- response

@dataclass(frozen=True)
class Response:
    """RCP chart 4: the clinical response and the minimum monitoring frequency."""

    key: str  # "routine" | "low" | "red" | "urgent" | "emergency"
    monitoring: str
    action: str
    monitoring_interval_minutes: int  # the longest time to the next observation; 0 = continuous
    urgency: str  # "routine" | "ward" | "urgent" | "emergency"


RESPONSES: dict[str, Response] = {
    "routine": Response(
        "routine", "Minimum 12-hourly",
        "Continue routine NEWS monitoring.", 12 * 60, "routine"),
    "low": Response(
        "low", "Minimum 4-6-hourly",
        "Inform the registered nurse, who must assess the patient. The registered nurse "
        "decides whether increased frequency of clinical monitoring or escalation of care "
        "is required.", 4 * 60, "ward"),
    "red": Response(
        "red", "Minimum 1-hourly",
        "The registered nurse informs the medical team caring for the patient, who will "
        "review and decide whether escalation of care is necessary.", 60, "ward"),
    "urgent": Response(
        "urgent", "Minimum 1-hourly",
        "Urgent response threshold. The registered nurse immediately informs the medical "
        "team caring for the patient and requests urgent assessment by a clinician or team "
        "with core competencies in the care of acutely ill patients. Provide clinical care "
        "in an environment with monitoring facilities.", 60, "urgent"),
    "emergency": Response(
        "emergency", "Continuous monitoring of vital signs",
        "Emergency response threshold. The registered nurse immediately informs the "
        "medical team caring for the patient (at least specialist registrar level). "
        "Emergency assessment by a team with critical care competencies, including "
        "practitioners with advanced airway management skills. Consider transfer of care "
        "to a level 2 or 3 care facility (HDU or ICU).", 0, "emergency"),
}


def risk_for(total: int, subscores: dict[str, int]) -> str:
    """RCP chart 4: 7 or more high; 5-6 medium; a 3 in any single parameter (with a
    total of 4 or less) low-medium; else low."""
    if total >= 7:
        return HIGH
    if total >= 5:
        return MEDIUM
    if any(value == 3 for value in subscores.values()):
        return LOW_MEDIUM
    return LOW


def response_for(total: int, risk: str) -> Response:
    if risk == HIGH:
        return RESPONSES["emergency"]
    if risk == MEDIUM:
        return RESPONSES["urgent"]
    if risk == LOW_MEDIUM:
        return RESPONSES["red"]
    return RESPONSES["routine"] if total == 0 else RESPONSES["low"]


# --------------------------------------------------------------------------- the score

@dataclass(frozen=True)
class News2Result:
    total: int | None
    subscores: dict[str, int | None]
    risk: str | None
    response: Response | None
    missing: tuple[str, ...]
    spo2_scale: int
    values: dict[str, Any] = field(default_factory=dict)  # as scored (temperature rounded)

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def red_parameters(self) -> tuple[str, ...]:
        """Parameters scoring 3 (known even when others are missing)."""
        return tuple(name for name in PARAMETERS if self.subscores.get(name) == 3)


def score(respiration_rate: Any, spo2: Any, on_oxygen: Any, systolic_bp: Any, pulse: Any,
          consciousness: Any, temperature: Any, spo2_scale: int = 1, *,
          confirmed: Collection[str] = ()) -> News2Result:
    """Score one set of observations. Raises InvalidObservation for values that cannot
    be scored (every problem at once); `confirmed` names unusual values the user has
    confirmed after measuring again."""
    if spo2_scale not in (1, 2):
        raise ValueError("spo2_scale must be 1 or 2")
    problems: list[Problem] = []
    numbers: dict[str, Decimal | None] = {}
    for name, value, whole in (("respiration_rate", respiration_rate, True),
                               ("spo2", spo2, True), ("systolic_bp", systolic_bp, True),
                               ("pulse", pulse, True), ("temperature", temperature, False)):
        number = _number(name, value, whole, problems)
        if number is not None and not _check_range(name, number, confirmed, problems):
            number = None
        numbers[name] = number
    level = normalise_consciousness(consciousness)
    if level is None and consciousness is not None and str(consciousness).strip():
        problems.append(Problem("consciousness", consciousness, "impossible",
                                "Consciousness must be one of A, C, V, P or U (ACVPU)."))
    oxygen: bool | None
    if on_oxygen is None or isinstance(on_oxygen, bool):
        oxygen = on_oxygen
    elif str(on_oxygen).strip().lower() in ("true", "1", "yes", "oxygen", "o2"):
        oxygen = True
    elif str(on_oxygen).strip().lower() in ("false", "0", "no", "air"):
        oxygen = False
    elif str(on_oxygen).strip() == "":
        oxygen = None
    else:
        oxygen = None
        problems.append(Problem("air_or_oxygen", on_oxygen, "impossible",
                                "Say whether the patient breathes air or gets oxygen."))
    if problems:
        raise InvalidObservation(problems)

    sub: dict[str, int | None] = dict.fromkeys(PARAMETERS)
    rr, sat, sbp, hr, temp = (numbers["respiration_rate"], numbers["spo2"],
                              numbers["systolic_bp"], numbers["pulse"], numbers["temperature"])
    if rr is not None:
        sub["respiration_rate"] = score_respiration_rate(int(rr))
    if sat is not None:
        if spo2_scale == 1:
            sub["spo2"] = score_spo2_scale1(int(sat))
        elif oxygen is not None:
            sub["spo2"] = score_spo2_scale2(int(sat), oxygen)
        elif sat <= 92:
            sub["spo2"] = score_spo2_scale2(int(sat), False)  # air or oxygen: the same
    if oxygen is not None:
        sub["air_or_oxygen"] = score_air_or_oxygen(oxygen)
    if sbp is not None:
        sub["systolic_bp"] = score_systolic_bp(int(sbp))
    if hr is not None:
        sub["pulse"] = score_pulse(int(hr))
    if level is not None:
        sub["consciousness"] = score_consciousness(level)
    if temp is not None:
        temp = round_temperature(temp)
        sub["temperature"] = score_temperature(temp)

    given = {"respiration_rate": rr, "spo2": sat, "air_or_oxygen": oxygen,
             "systolic_bp": sbp, "pulse": hr, "consciousness": level, "temperature": temp}
    missing = tuple(name for name in PARAMETERS if given[name] is None)
    values = {name: (int(v) if isinstance(v, Decimal) and name != "temperature" else v)
              for name, v in given.items()}
    if missing:
        return News2Result(None, sub, None, None, missing, spo2_scale, values)
    scores = {name: int(v) for name, v in sub.items() if v is not None}
    total = sum(scores.values())
    risk = risk_for(total, scores)
    return News2Result(total, sub, risk, response_for(total, risk), (), spo2_scale, values)
