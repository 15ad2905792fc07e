"""A synthetic, Medicare-like patient cohort with a known ground-truth admission risk.

Deterministic for a given seed. Every formula and number here is documented in docs/cohort.md.
The truth (`true_risk`) is computed only from X_test columns, so anyone holding an X_test file
can recompute it; costs carry a deliberate racial bias that the truth does not (Obermeyer et
al., Science 2019), for the fairness panel.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from patients.feature_contract import CONDITION_MISSING, CONDITION_NO, CONDITION_YES, CONDITIONS

# -- Column layout ----------------------------------------------------------------------------

FEATURE_COLUMNS = [
    "is_elderly",
    *CONDITIONS,
    "total_admissions_2008",
    "total_hospital_days_2008",
    "days_since_last_admission",
    "recent_admission",
    "total_outpatient_visits_2008",
    "high_outpatient_user",
    "total_annual_cost",
    "cost_percentile",
    "high_cost",
    "total_inpatient_cost",
    "frailty_score",
    "complexity_index",
]
XTEST_COLUMNS = [
    "external_id",
    "age",
    "gender",
    "race",
    "department_code",
    "annual_cost",
    *FEATURE_COLUMNS,
]
TRUTH_COLUMNS = ["true_risk_30", "true_risk_60", "true_risk_90"]
LABEL_COLUMNS = ["admitted_30d", "admitted_60d", "admitted_90d"]
COLUMNS = [*XTEST_COLUMNS, *TRUTH_COLUMNS, *LABEL_COLUMNS, "days_to_admission"]
WINDOW_DAYS = {"30_day": 30, "60_day": 60, "90_day": 90}

# Decimals of every float column (everything else is an integer or a string).
DECIMALS = {
    "annual_cost": 2,
    "total_annual_cost": 2,
    "total_inpatient_cost": 2,
    "cost_percentile": 3,
    "frailty_score": 4,
    "complexity_index": 4,
    **dict.fromkeys(TRUTH_COLUMNS, 4),
    "days_to_admission": 2,
}

TRAINING_SEED_OFFSET = 1_000_003

# -- Population -------------------------------------------------------------------------------

ELDERLY_SHARE = 0.85
ELDERLY_AGE_GAMMA = (
    2.0,
    5.5,
)  # shape, scale: 65 + Gamma(mean 11) has mean 76 and a long right tail
DISABLED_AGES = (25, 64)
FEMALE_SHARE = 0.55
RACES = {"White": 0.78, "Black": 0.10, "Hispanic": 0.07, "Asian": 0.03, "Other": 0.02}

# Target share coded 2 (yes), and the loading on the latent health z (sicker -> more).
PREVALENCE = {
    "has_alzheimers": 0.10,
    "has_chf": 0.15,
    "has_ckd": 0.23,
    "has_cancer": 0.08,
    "has_copd": 0.11,
    "has_depression": 0.18,
    "has_diabetes": 0.28,
    "has_ischemic_heart": 0.28,
    "has_ra_oa": 0.33,
    "has_stroke": 0.04,
}
LOADING = {
    "has_alzheimers": 0.8,
    "has_chf": 1.2,
    "has_ckd": 1.1,
    "has_cancer": 0.7,
    "has_copd": 1.0,
    "has_depression": 0.8,
    "has_diabetes": 0.9,
    "has_ischemic_heart": 1.0,
    "has_ra_oa": 0.6,
    "has_stroke": 1.0,
}
MISSING_SHARE = 0.01
INTERCEPT_SEED, INTERCEPT_SAMPLE = 20_080_101, 200_000

# Utilisation: admissions ~ Poisson(exp(b0 + b_cond * conditions + b_z * z)).
ADMISSION_LOG_MEAN = (-1.63, 0.25, 0.35)
EXTRA_LOS_MEAN = 4.0  # length of stay = 1 + Poisson(4): mean 5 days, at least 1
NO_ADMISSION_DAYS = 730  # sentinel: no admission in the look-back year
RECENT_DAYS = 90
OUTPATIENT_MEAN = (4.0, 1.5)  # visits ~ Poisson(4 + 1.5 * conditions)
HIGH_OUTPATIENT_VISITS = 12

# Costs: lognormal (mean, sigma of the log); right-skewed.
INPATIENT_COST = (11_000.0, 0.8)  # per admission
VISIT_COST = (150.0, 0.5)  # per visit (one price per patient)
CONDITION_COST = (900.0, 0.7)  # per condition (one price per patient)
BASELINE_COST = (600.0, 0.9)
BLACK_COST_FACTOR = 0.75  # the deliberate bias: same illness, lower recorded cost
MAX_COST = 99_999_999.99
HIGH_COST_PERCENTILE = 0.90

# -- Ground truth: H(t) = lam * t + a * (1 - exp(-t / ACUTE_DAYS)) ---------------------------

HAZARD_INTERCEPT = -8.4  # log daily hazard of a 65-year-old with nothing recorded
HAZARD_CONDITION = {
    "has_chf": 1.00,
    "has_ckd": 0.85,
    "has_copd": 0.85,
    "has_cancer": 0.50,
    "has_diabetes": 0.40,
    "has_ischemic_heart": 0.45,
    "has_stroke": 0.50,
    "has_alzheimers": 0.45,
    "has_depression": 0.20,
    "has_ra_oa": 0.15,
}
HAZARD_ADMISSION = 0.20  # per prior admission, counted up to HAZARD_ADMISSION_CAP
HAZARD_ADMISSION_CAP = 6
HAZARD_LOG_DAYS = 0.15  # per unit of log(1 + hospital days)
HAZARD_DECADE = 0.20  # per decade over 65
HAZARD_FRAILTY = 1.0
ACUTE_RECENT = 0.40  # acute excess a for an admission in the last 90 days ...
ACUTE_PER_ADMISSION = 0.15  # ... plus this per prior admission, counted up to the cap
ACUTE_ADMISSION_CAP = 6
ACUTE_DAYS = 15.0
BISECTION_STEPS = 50


def _lognormal(rng: np.random.Generator, mean_sigma: tuple[float, float], size: int) -> np.ndarray:
    mean, sigma = mean_sigma
    return rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, size)  # E = exp(mu + sigma^2 / 2)


@cache
def condition_intercepts() -> dict[str, float]:
    """Logit intercepts that make each condition's share coded 2 hit PREVALENCE despite the
    latent term (and the 1% coded missing): bisection on a fixed standard-normal sample."""
    z = np.random.default_rng(INTERCEPT_SEED).standard_normal(INTERCEPT_SAMPLE)
    loading = np.array([LOADING[c] for c in CONDITIONS])[:, None]
    target = np.array([PREVALENCE[c] for c in CONDITIONS]) / (1 - MISSING_SHARE)
    lo, hi = np.full(len(CONDITIONS), -15.0), np.full(len(CONDITIONS), 15.0)
    for _ in range(40):
        mid = (lo + hi) / 2
        share = (1 / (1 + np.exp(-(mid[:, None] + loading * z)))).mean(axis=1)
        lo, hi = np.where(share < target, mid, lo), np.where(share < target, hi, mid)
    return dict(zip(CONDITIONS, ((lo + hi) / 2).tolist(), strict=True))


def _ages(rng: np.random.Generator, n: int) -> np.ndarray:
    elderly = rng.random(n) < ELDERLY_SHARE
    old = 65 + np.minimum(np.round(rng.gamma(*ELDERLY_AGE_GAMMA, n)), 35)  # 65-100
    young = rng.integers(DISABLED_AGES[0], DISABLED_AGES[1] + 1, n)
    return np.where(elderly, old, young).astype(np.int64)


def _conditions(rng: np.random.Generator, z: np.ndarray) -> dict[str, np.ndarray]:
    intercepts = condition_intercepts()
    codes = {}
    for name in CONDITIONS:
        p = 1 / (1 + np.exp(-(intercepts[name] + LOADING[name] * z)))
        code = np.where(rng.random(z.size) < p, CONDITION_YES, CONDITION_NO)
        codes[name] = np.where(rng.random(z.size) < MISSING_SHARE, CONDITION_MISSING, code)
    return codes


def _per_event_sum(
    rng: np.random.Generator, counts: np.ndarray, mean_sigma: tuple[float, float]
) -> np.ndarray:
    """Sum of counts[i] independent lognormal draws for each patient i."""
    owner = np.repeat(np.arange(counts.size), counts)
    draws = _lognormal(rng, mean_sigma, owner.size)
    return np.bincount(owner, weights=draws, minlength=counts.size)


def _utilisation(
    rng: np.random.Generator, n_conditions: np.ndarray, z: np.ndarray
) -> dict[str, np.ndarray]:
    b0, b_cond, b_z = ADMISSION_LOG_MEAN
    admissions = rng.poisson(np.exp(b0 + b_cond * n_conditions + b_z * z))
    days = admissions + rng.poisson(EXTRA_LOS_MEAN * admissions)
    # Days since the latest of k admissions spread uniformly over the year: the minimum of k
    # uniforms, so frequent flyers were more often in hospital recently.
    latest = np.ceil(365 * (1 - rng.random(n_conditions.size) ** (1 / np.maximum(admissions, 1))))
    since = np.where(admissions > 0, np.clip(latest, 1, 365), NO_ADMISSION_DAYS).astype(np.int64)
    visits = rng.poisson(OUTPATIENT_MEAN[0] + OUTPATIENT_MEAN[1] * n_conditions)
    return {
        "total_admissions_2008": admissions,
        "total_hospital_days_2008": days,
        "days_since_last_admission": since,
        "recent_admission": (since <= RECENT_DAYS).astype(np.int64),
        "total_outpatient_visits_2008": visits,
        "high_outpatient_user": (visits >= HIGH_OUTPATIENT_VISITS).astype(np.int64),
    }


def _costs(
    rng: np.random.Generator,
    use: dict[str, np.ndarray],
    n_conditions: np.ndarray,
    black: np.ndarray,
) -> dict[str, np.ndarray]:
    n = n_conditions.size
    inpatient = _per_event_sum(rng, use["total_admissions_2008"], INPATIENT_COST)
    other = (
        use["total_outpatient_visits_2008"] * _lognormal(rng, VISIT_COST, n)
        + n_conditions * _lognormal(rng, CONDITION_COST, n)
        + _lognormal(rng, BASELINE_COST, n)
    )
    factor = np.where(black, BLACK_COST_FACTOR, 1.0)  # access barriers: less care, same illness
    # Each part capped at half the column's limit, so their sum fits too (never reached).
    inpatient = np.minimum(np.round(inpatient * factor, 2), MAX_COST / 2)
    other = np.minimum(np.round(other * factor, 2), MAX_COST / 2)
    total = np.round(inpatient + other, 2)
    # SQL PERCENT_RANK: (rank - 1) / (n - 1), ties share their lowest rank.
    rank = pd.Series(total).rank(method="min").to_numpy()
    percentile = np.round((rank - 1) / max(n - 1, 1), 3)
    return {
        "total_annual_cost": total,
        "cost_percentile": percentile,
        "high_cost": (percentile >= HIGH_COST_PERCENTILE).astype(np.int64),
        "total_inpatient_cost": inpatient,
    }


def _yes(frame: pd.DataFrame, name: str) -> np.ndarray:
    return (frame[name].to_numpy() == CONDITION_YES).astype(float)


def _hazard(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(lam, a) of H(t) = lam * t + a * (1 - exp(-t / 15)), from X_test columns only."""
    admissions = frame["total_admissions_2008"].to_numpy(dtype=float)
    days = frame["total_hospital_days_2008"].to_numpy(dtype=float)
    age = frame["age"].to_numpy(dtype=float)
    recent = frame["recent_admission"].to_numpy(dtype=float)
    lp = (
        HAZARD_INTERCEPT
        + sum(beta * _yes(frame, name) for name, beta in HAZARD_CONDITION.items())
        + HAZARD_ADMISSION * np.minimum(admissions, HAZARD_ADMISSION_CAP)
        + HAZARD_LOG_DAYS * np.log1p(days)
        + HAZARD_DECADE * np.maximum(age - 65, 0) / 10
        + HAZARD_FRAILTY * frame["frailty_score"].to_numpy(dtype=float)
    )
    acute = ACUTE_RECENT * recent + ACUTE_PER_ADMISSION * np.minimum(
        admissions, ACUTE_ADMISSION_CAP
    )
    return np.exp(lp), acute


def _cumulative(lam: np.ndarray, acute: np.ndarray, t) -> np.ndarray:
    return lam * t + acute * (1 - np.exp(-np.asarray(t) / ACUTE_DAYS))


def true_risk(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """P(first admission within w days) = 1 - exp(-H(w)) for each window."""
    lam, acute = _hazard(frame)
    return {key: 1 - np.exp(-_cumulative(lam, acute, w)) for key, w in WINDOW_DAYS.items()}


def _first_admission_day(lam: np.ndarray, acute: np.ndarray, e: np.ndarray) -> np.ndarray:
    """H^-1(e) by vectorised bisection on [0, 90]; NaN where H(90) < e."""
    lo, hi = np.zeros_like(e), np.full_like(e, 90.0)
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2
        below = _cumulative(lam, acute, mid) < e
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return np.where(_cumulative(lam, acute, 90) >= e, hi, np.nan)


def _outcomes(rng: np.random.Generator, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    lam, acute = _hazard(frame)
    e = rng.exponential(1.0, len(frame))
    out: dict[str, np.ndarray] = {}
    windows = zip(WINDOW_DAYS.values(), TRUTH_COLUMNS, LABEL_COLUMNS, strict=True)
    for w, truth, label in windows:
        out[truth] = np.round(1 - np.exp(-_cumulative(lam, acute, w)), 4)
        out[label] = (_cumulative(lam, acute, w) >= e).astype(np.int64)
    # Round the day up to the cent of a day, then keep it inside the window its labels name
    # (so days_to_admission <= 30 exactly when admitted_30d, and so on).
    day = np.ceil(_first_admission_day(lam, acute, e) * 100) / 100
    low = np.select([out["admitted_30d"] == 1, out["admitted_60d"] == 1], [0.0, 30.01], 60.01)
    high = np.select([out["admitted_30d"] == 1, out["admitted_60d"] == 1], [30.0, 60.0], 90.0)
    out["days_to_admission"] = np.clip(day, low, high)  # NaN stays NaN
    return out


def cohort_generate(*, patients: int, seed: int, id_prefix: str = "SYN") -> pd.DataFrame:
    """One row per patient, columns in COLUMNS order; identical for identical arguments."""
    rng = np.random.default_rng(seed)
    n = patients
    age = _ages(rng, n)
    gender = np.where(rng.random(n) < FEMALE_SHARE, "F", "M")
    race = rng.choice(list(RACES), size=n, p=list(RACES.values()))
    z = rng.standard_normal(n)  # latent health: sicker people have more conditions
    codes = _conditions(rng, z)
    n_conditions = sum((codes[c] == CONDITION_YES).astype(np.int64) for c in CONDITIONS)
    use = _utilisation(rng, n_conditions, z)
    costs = _costs(rng, use, n_conditions, race == "Black")
    frailty = (
        0.5 * n_conditions / 10
        + 0.3 * np.minimum(use["total_hospital_days_2008"] / 30, 1)
        + 0.2 * (age >= 85)
    )
    complexity = (
        n_conditions
        + 0.5 * use["total_admissions_2008"]
        + 0.1 * use["total_outpatient_visits_2008"]
    )
    frame = pd.DataFrame(
        {
            "external_id": [f"{id_prefix}-{i:06d}" for i in range(1, n + 1)],
            "age": age,
            "gender": gender,
            "race": race,
            "department_code": "",  # the importer assigns departments by rule
            "annual_cost": costs["total_annual_cost"],
            "is_elderly": (age >= 65).astype(np.int64),
            **codes,
            **use,
            **costs,
            "frailty_score": np.round(frailty, 4),
            "complexity_index": np.round(complexity, 4),
        }
    )
    # The truth is computed from the rounded values, so it can be recomputed from the files.
    frame = frame.assign(**_outcomes(rng, frame))
    return frame[COLUMNS]


@dataclass(frozen=True)
class CohortFiles:
    x_test: Path
    training: Path
    truth: Path


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    text = frame.copy()
    for column, places in DECIMALS.items():
        if column in text:
            values = text[column].to_numpy(dtype=float)
            text[column] = [f"{v:.{places}f}" if np.isfinite(v) else "" for v in values]
    text.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def cohort_write(*, out_dir: Path, patients: int, seed: int, training_patients: int) -> CohortFiles:
    """X_test.csv, training.csv (another sample of the same population) and X_test_truth.csv."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    test = cohort_generate(patients=patients, seed=seed, id_prefix="SYN")
    train = cohort_generate(
        patients=training_patients, seed=seed + TRAINING_SEED_OFFSET, id_prefix="TRN"
    )
    return CohortFiles(
        x_test=_write_csv(test[XTEST_COLUMNS], out_dir / "X_test.csv"),
        training=_write_csv(
            train[XTEST_COLUMNS + LABEL_COLUMNS + TRUTH_COLUMNS], out_dir / "training.csv"
        ),
        truth=_write_csv(
            test[["external_id", *TRUTH_COLUMNS, *LABEL_COLUMNS, "days_to_admission"]],
            out_dir / "X_test_truth.csv",
        ),
    )


# -- Demo admissions from the ground truth (docs/outcomes.md) ----------------------------------

ADMISSION_FILE_COLUMNS = ["external_id", "admission_date", "discharge_date", "stay_cost"]
STAY_DAYS = (1, 10)  # discharge 1 to 10 days after admission, uniform
ADMISSIONS_SEED_TAG = 90  # a stream of its own, apart from the cohort drawn with the same seed


def admissions_from_truth(
    *,
    truth_path: Path,
    scored_on: date,
    out_path: Path,
    seed: int,
    exclude_external_ids: set[str] | frozenset[str] = frozenset(),
    until: date | None = None,
) -> Path:
    """Write the admissions the ground truth holds as an admissions CSV (the importer's
    format): each patient with days_to_admission in (0, 90] is admitted on scored_on +
    ceil(days), discharged 1-10 days later, at a lognormal cost around INPATIENT_COST.

    Patients in exclude_external_ids are left out (the demo drops admissions a successful
    intervention avoided); with `until`, admissions after that day are too (not happened
    yet). Every patient draws a stay and a cost, excluded or not, so leaving one out does not
    change anyone else's; the same arguments give the same file, byte for byte."""
    truth = pd.read_csv(
        truth_path, usecols=["external_id", "days_to_admission"], dtype={"external_id": str}
    )
    rng = np.random.default_rng([seed, ADMISSIONS_SEED_TAG])
    n = len(truth)
    costs = np.minimum(np.round(_lognormal(rng, INPATIENT_COST, n), 2), MAX_COST)
    stays = rng.integers(STAY_DAYS[0], STAY_DAYS[1] + 1, n)
    days = truth["days_to_admission"].to_numpy(dtype=float)
    admitted = np.isfinite(days) & (days > 0) & (days <= max(WINDOW_DAYS.values()))
    keep = admitted & ~truth["external_id"].isin(set(exclude_external_ids)).to_numpy()
    rows = []
    for i in np.flatnonzero(keep):
        admission = scored_on + timedelta(days=int(np.ceil(days[i])))
        if until is not None and admission > until:
            continue
        discharge = admission + timedelta(days=int(stays[i]))
        rows.append((truth.at[i, "external_id"], admission, discharge, f"{costs[i]:.2f}"))
    frame = pd.DataFrame(rows, columns=ADMISSION_FILE_COLUMNS)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_path, index=False, encoding="utf-8", lineterminator="\n")
    return out_path
