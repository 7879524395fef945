"""The service's fast model frame equals the platform's `to_model_frame` on the same users."""

import math

import pandas as pd

from mlops_assets.domain.model import to_model_frame
from mlops_assets.domain.schema import FEATURES
from mlops_assets.generator import write_months
from mlops_assets.importer import read_month
from mlops_assets.serving.frame import model_frame_from_records


def as_online_records(frame: pd.DataFrame) -> list[dict]:
    """What Feast's online read hands over: Python values, None where a value is missing."""
    records = frame[list(FEATURES)].astype(object).to_dict("records")
    return [{k: None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v for k, v in r.items()}
            for r in records]


def test_fast_frame_equals_to_model_frame_on_generated_users(tmp_path):
    (folder,) = write_months(tmp_path, n_users=500, scenario=("baseline",), seed=3)
    snapshot = read_month(folder, folder.name)
    records = as_online_records(snapshot)
    assert any(r["plan_stream_tv"] is None for r in records)  # missing booleans are in the sample
    expected = to_model_frame(snapshot).reset_index(drop=True)
    pd.testing.assert_frame_equal(model_frame_from_records(records), expected)
    pd.testing.assert_frame_equal(to_model_frame(pd.DataFrame(records)).reset_index(drop=True), expected)


def test_fast_frame_on_edge_values():
    records = [
        dict.fromkeys(FEATURES),  # everything missing
        {**dict.fromkeys(FEATURES), "plan_stream_tv": False, "contract_type": "Two year", "monthly_fee": 0, "skips_7d": 3},
        {**dict.fromkeys(FEATURES), "plan_stream_movies": True, "net_service": "Satellite", "watch_hours_30d": float("nan")},
    ]
    fast = model_frame_from_records(records)
    pd.testing.assert_frame_equal(fast, to_model_frame(pd.DataFrame(records)))
    assert fast.loc[0, "contract_type"] == "missing" and math.isnan(fast.loc[0, "plan_stream_tv"])
    assert fast.loc[1, "plan_stream_tv"] == 0.0 and fast.loc[2, "plan_stream_movies"] == 1.0
