import pytest

from eval.metrics import first_relevant_rank, hit_at_k, mean, reciprocal_rank


def test_hit_at_k():
    assert hit_at_k([False, False, True], 3) == 1.0
    assert hit_at_k([False, False, True], 2) == 0.0
    assert hit_at_k([], 5) == 0.0


def test_reciprocal_rank_counts_only_the_first_relevant_within_k():
    assert reciprocal_rank([False, True, True], 10) == 0.5
    assert reciprocal_rank([False, False, False, True], 3) == 0.0
    assert first_relevant_rank([False, False, True]) == 3
    assert first_relevant_rank([False]) is None


def test_k_must_be_positive():
    with pytest.raises(ValueError, match="k must be > 0"):
        hit_at_k([True], 0)


def test_mean_of_nothing_is_zero():
    assert mean([]) == 0.0 and mean([1.0, 0.0]) == 0.5


def test_percentile_is_nearest_rank():
    from eval.metrics import percentile

    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(v) for v in range(1, 101)], 0.95) == 95.0
