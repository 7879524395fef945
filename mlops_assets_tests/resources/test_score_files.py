"""churn_scores' IO manager: the month's Parquet file in the score store is the stored value."""

import pandas as pd
import pytest
from dagster import AssetKey, build_input_context, build_output_context

from mlops_assets.partitions import monthly_partitions
from mlops_assets.resources import ScoreFiles, ScoreStore


def _contexts(month: str):
    key = AssetKey("churn_scores")
    output = build_output_context(asset_key=key, partition_key=month, asset_partitions_def=monthly_partitions)
    return output, build_input_context(asset_key=key, partition_key=month, asset_partitions_def=monthly_partitions)


def test_value_is_the_months_parquet_file_and_a_missing_month_says_where(tmp_path):
    files = ScoreFiles(path=str(tmp_path))
    table = pd.DataFrame({"user_id": ["0001-AAAAA"], "churn_probability": [0.25]})
    output, _ = _contexts("2024-02")
    files.handle_output(output, table)
    # The file the score store (and anyone) reads, named by the month's as_of.
    pd.testing.assert_frame_equal(ScoreStore(path=str(tmp_path)).read("2024-02-29"), table)
    pd.testing.assert_frame_equal(files.load_input(_contexts("2024-02")[1]), table)
    with pytest.raises(FileNotFoundError, match=r"month 2024-03: no churn scores at .*churn_scores_2024-03-31\.parquet"):
        files.load_input(_contexts("2024-03")[1])
