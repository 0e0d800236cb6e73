"""Each label's classifier output on one scale: an item's rank among the label's negatives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medcurate.suggest.classifiers import (
    RANK_POINTS,
    fit_classifiers,
    negative_quantiles,
    rank_among_negatives,
    training_rows,
)
from medcurate.suggest.embedding import EmbeddingCache, default_encoder, item_vectors
from medcurate.suggest.engine import contributions, fit
from medcurate.suggest.labelmodel import FEATURES, Example
from medcurate.suggest.labels import Matrix
from medcurate.suggest.online import apply_decisions


def _store(
    seed: int, items: int = 40, labels: int = 3, dims: int = 8
) -> tuple[Matrix, Matrix, Matrix, Matrix]:
    generator = np.random.default_rng(seed)
    vectors = generator.normal(size=(items, dims))
    votes = (generator.random((items, labels)) < 0.3).astype(float)
    coef = generator.normal(size=(labels, dims))
    intercept = generator.normal(size=labels)
    return vectors, votes, coef, intercept


def test_the_quantiles_are_those_of_the_label_s_negatives_only() -> None:
    vectors, votes, coef, intercept = _store(seed=3)
    quantiles = negative_quantiles(vectors, votes, coef, intercept)
    assert quantiles.shape == (3, RANK_POINTS)
    for column in range(3):
        logits = vectors @ coef[column] + intercept[column]
        negatives = logits[votes[:, column] <= 0]
        assert quantiles[column] == pytest.approx(np.quantile(negatives, np.linspace(0, 1, RANK_POINTS)))
        # A positive outscoring every negative ranks 1 whatever its raw logit.
        assert rank_among_negatives(np.full(3, negatives.max() + 1e-9), quantiles)[column] == 1.0
        assert rank_among_negatives(np.full(3, negatives.min() - 1e-9), quantiles)[column] == 0.0


def test_a_label_every_item_carries_ranks_every_item_zero() -> None:
    vectors, votes, coef, intercept = _store(seed=5)
    votes[:, 1] = 1.0
    quantiles = negative_quantiles(vectors, votes, coef, intercept)
    assert np.isinf(quantiles[1]).all()
    assert rank_among_negatives(np.full(3, 1e9), quantiles)[1] == 0.0


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(-5, 5))
def test_the_rank_is_monotone_and_between_zero_and_one(seed: int, shift: float) -> None:
    vectors, votes, coef, intercept = _store(seed=seed, items=70)
    quantiles = negative_quantiles(vectors, votes, coef, intercept)
    low = rank_among_negatives(np.full(3, shift), quantiles)
    high = rank_among_negatives(np.full(3, shift + 0.5), quantiles)
    assert ((low >= 0.0) & (low <= high) & (high <= 1.0)).all()


def test_a_label_within_the_cap_is_fitted_on_every_item() -> None:
    target = np.arange(50) % 7 == 0
    rows = training_rows(target, max_class_rows=50, rng=np.random.default_rng(0))
    assert rows == slice(None)


@settings(max_examples=40, deadline=None)
@given(items=st.integers(2, 300), share=st.floats(0.01, 0.99), cap=st.integers(1, 120))
def test_a_large_class_is_sampled_down_to_the_cap_and_a_small_one_kept_whole(
    items: int, share: float, cap: int
) -> None:
    generator = np.random.default_rng(items)
    target = generator.random(items) < share
    rows = training_rows(target, max_class_rows=cap, rng=np.random.default_rng(0))
    chosen = np.arange(items)[rows]
    assert np.array_equal(chosen, np.unique(chosen))
    for members in (np.flatnonzero(target), np.flatnonzero(~target)):
        kept = np.intersect1d(chosen, members)
        assert len(kept) == min(len(members), cap)


def test_a_capped_fit_still_separates_and_ranks_among_every_negative() -> None:
    """Fitted on 60 of 3,000 negatives, a label's classifier still tells its items apart."""
    generator = np.random.default_rng(4)
    centre = generator.normal(size=16)
    positives = centre + 0.6 * generator.normal(size=(40, 16))
    negatives = generator.normal(size=(3000, 16))
    vectors = np.vstack([positives, negatives])
    votes = np.concatenate([np.ones(40), np.zeros(3000)])[:, None]
    capped = fit_classifiers(vectors, votes, c=1.0, max_class_rows=60)
    logits = vectors @ capped.coef[0] + capped.intercept[0]
    assert np.median(logits[:40]) > np.quantile(logits[40:], 0.95)
    # The ranks are measured on all 3,000 negatives, not on the sample the classifier saw.
    every = negative_quantiles(vectors, votes, capped.coef, capped.intercept)
    assert capped.ranks == pytest.approx(every)


@pytest.fixture(scope="module")
def embed() -> EmbeddingCache:
    """The bundled MiniLM encoder."""
    return EmbeddingCache.open(default_encoder())


def test_a_label_just_added_ranks_an_item_like_its_example_above_the_other_items(
    embed: EmbeddingCache,
) -> None:
    """One example gives a new label a weak classifier; its rank still says the item is like it."""
    texts = {
        "Security": ["Ransomware encrypted hospital servers", "Phishing breach exposed patient records"],
        "AI": ["Deep learning reads chest x-rays", "Machine learning predicts sepsis"],
        "Telehealth": ["Video visits for follow-up care", "Virtual consultations over video"],
    }
    history = [
        Example(key=f"{label}-{i}", title=f"{pair[i % 2]} {i}", text=f"{pair[i % 2]} {i}", positives=(label,))
        for label, pair in texts.items()
        for i in range(12)
    ]
    model = fit(history, labels=(), embed=embed.embed)
    funded = Example(
        key="new",
        title="Remote monitoring startup raises $12M in Series A funding",
        text="The company will use the funding round to hire engineers.",
        positives=("Digital Health Funding",),
    )
    learned = apply_decisions(model, [funded], embed=embed.embed)
    column = learned.label_keys.index("digital health funding")
    assert np.isfinite(learned.classifier_ranks[column]).all()
    title = "Sleep apnea startup raises $8M Series A"
    text = "Investors led the funding round for the device maker."
    like_it = item_vectors(embed.embed, [title], [text])[0]
    logits = learned.classifier_coef @ like_it + learned.classifier_intercept
    rank = rank_among_negatives(logits, learned.classifier_ranks)[column]
    probability = 1.0 / (1.0 + np.exp(-logits[column]))
    assert rank == 1.0
    assert rank > probability
    # The learner's classifier feature is the mean of the two (times its blend weight).
    weighted = contributions(learned, vector=like_it, title=title, text=text)["digital health funding"]
    assert weighted[FEATURES.index("classifier")] == pytest.approx(
        learned.blend[FEATURES.index("classifier")] * (probability + rank) / 2
    )
