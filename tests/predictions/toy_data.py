"""A small labelled frame in the feature contract's shape, for fast model tests."""

import numpy as np
import pandas as pd

from patients.feature_contract import CONDITIONS


def toy_training_frame(n: int = 1500, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(60, 95, n)
    frame = pd.DataFrame(
        {
            "age": age,
            "gender": rng.choice(["M", "F"], n),
            "race": rng.choice(["White", "Black", "Hispanic", "Asian", "Other"], n),
            "is_elderly": (age >= 65).astype(int),
            **{c: rng.choice([1, 2], n, p=[0.8, 0.2]) for c in CONDITIONS},
            "total_admissions_2008": rng.poisson(0.4, n).astype(float),
            "total_hospital_days_2008": rng.poisson(2, n).astype(float),
            "days_since_last_admission": rng.uniform(1, 730, n).round(2),
            "recent_admission": rng.integers(0, 2, n),
            "total_outpatient_visits_2008": rng.poisson(5, n).astype(float),
            "high_outpatient_user": rng.integers(0, 2, n),
            "total_annual_cost": rng.lognormal(9, 1, n).round(2),
            "cost_percentile": rng.uniform(0, 1, n).round(3),
            "high_cost": rng.integers(0, 2, n),
            "total_inpatient_cost": rng.lognormal(8, 1, n).round(2),
            "frailty_score": rng.uniform(0, 1, n).round(4),
            "complexity_index": rng.uniform(0, 8, n).round(4),
        }
    )
    logit = -3 + 1.2 * (frame.has_chf == 2) + 0.8 * frame.total_admissions_2008
    p90 = 1 / (1 + np.exp(-logit))
    draw = rng.uniform(size=n)
    frame["admitted_90d"] = (draw < p90).astype(int)
    frame["admitted_60d"] = (draw < p90 * 0.7).astype(int)
    frame["admitted_30d"] = (draw < p90 * 0.4).astype(int)
    return frame
