import numpy as np
import pandas as pd
import pytest

from mlops_assets.domain.metrics import UndefinedMetricError, roc_auc
from mlops_assets.domain.split import TRAIN, VALIDATION, assign_split, split_bucket, split_buckets, split_of


def test_split_is_a_function_of_user_id_only():
    ids = [f"{i:04d}-ABCDE" for i in range(5000)]
    first = assign_split(ids)
    again = assign_split(list(reversed(ids)))[::-1]
    assert (first == again).all()
    assert [split_of(u) for u in ids[:50]] == list(first[:50])


def test_vectorized_buckets_are_the_per_user_buckets_bit_for_bit():
    # The per-id definition (int.from_bytes of the digest's first 8 bytes) is the reference the
    # batch version must reproduce for every id, whatever its container or characters.
    ids = [f"{i:04d}-{chr(65 + i % 26) * 5}" for i in range(20000)] + ["", "é-ÜNICODE", "x" * 300]
    expected = np.array([split_bucket(u) for u in ids], dtype=np.int64)
    assert (split_buckets(ids) == expected).all()
    assert (split_buckets(pd.Series(ids, dtype="string[pyarrow]")) == expected).all()
    assert split_buckets([]).shape == (0,)
    assert list(assign_split(ids[:200])) == [split_of(u) for u in ids[:200]]


def test_split_fraction_is_about_twenty_percent():
    ids = [f"{i:04d}-XYZAB" for i in range(10000)]
    share = (assign_split(ids) == VALIDATION).mean()
    assert 0.18 < share < 0.22
    assert set(assign_split(ids)) == {TRAIN, VALIDATION}


def test_roc_auc_perfect_and_random():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5


@pytest.mark.parametrize("labels", [[1, 1, 1], [0, 0], []])
def test_roc_auc_one_class_is_undefined(labels):
    with pytest.raises(UndefinedMetricError):
        roc_auc(labels, np.linspace(0, 1, len(labels)))


def test_roc_auc_nan_scores_are_undefined():
    with pytest.raises(UndefinedMetricError, match="NaN"):
        roc_auc([0, 1], [0.1, float("nan")])
