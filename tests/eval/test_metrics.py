import math

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


def test_recall_counts_gold_anchors_found_not_chunks():
    from eval.metrics import recall_at_k

    # two anchors; anchor 0 appears three times (one long section), anchor 1 at rank 6
    matches = [0, 0, None, 0, None, 1]
    assert recall_at_k(matches, 2, 5) == 0.5
    assert recall_at_k(matches, 2, 6) == 1.0
    assert recall_at_k([None, None], 1, 10) == 0.0


@pytest.mark.parametrize("matches, n_gold", [
    ([None, 0, None, 1, None], 2),
    ([1, None, None, None, 0, None, None, 2], 3),
    ([0, None, None], 1),
])
def test_ndcg_equals_scikit_learn_when_every_anchor_is_retrieved(matches, n_gold):
    from sklearn.metrics import ndcg_score

    from eval.metrics import ndcg_at_k

    gains = [[1.0 if m is not None else 0.0 for m in matches]]
    scores = [[float(len(matches) - i) for i in range(len(matches))]]  # ranked order
    assert ndcg_at_k(matches, n_gold, 10) == pytest.approx(ndcg_score(gains, scores, k=10))


def test_ndcg_repeats_of_one_anchor_earn_nothing_and_missing_anchors_cost():
    from eval.metrics import ndcg_at_k

    assert ndcg_at_k([0, 0, 0], 1, 10) == 1.0
    assert ndcg_at_k([0], 2, 10) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([], 1, 10) == 0.0
    with pytest.raises(ValueError, match="at least one gold anchor"):
        ndcg_at_k([0], 0, 10)
