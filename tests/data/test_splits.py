import numpy as np

from distillery.data.splits import iterative_stratification, stratified_single

FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}


def test_single_label_split_is_stratified_and_deterministic() -> None:
    labels = np.eye(4, dtype=np.uint8)[np.repeat(np.arange(4), [100, 50, 30, 20])]
    splits = stratified_single(labels, FRACTIONS, seed=1)
    for cls, n in enumerate([100, 50, 30, 20]):
        in_class = splits[labels.argmax(1) == cls]
        assert (in_class == "val").sum() == round(0.1 * n)
        assert (in_class == "test").sum() == round(0.1 * n)
    assert (splits == stratified_single(labels, FRACTIONS, seed=1)).all()
    assert not (splits == stratified_single(labels, FRACTIONS, seed=2)).all()


def test_iterative_stratification_spreads_rare_labels() -> None:
    rng = np.random.default_rng(0)
    labels = (rng.random((1000, 6)) < [0.5, 0.3, 0.1, 0.05, 0.02, 0.01]).astype(np.uint8)
    splits = iterative_stratification(labels, FRACTIONS, seed=3)
    assert set(splits) == {"train", "val", "test"}
    for name, fraction in FRACTIONS.items():
        assert abs((splits == name).mean() - fraction) < 0.01
        share = labels[splits == name].sum(0) / labels.sum(0)
        assert np.all(np.abs(share - fraction) <= 0.05), (name, share)
    rare = labels[:, 5].astype(bool)
    assert (splits[rare] == "val").sum() >= 1 and (splits[rare] == "test").sum() >= 1
    assert (splits == iterative_stratification(labels, FRACTIONS, seed=3)).all()


def test_rows_without_labels_are_split_too() -> None:
    labels = np.zeros((50, 2), dtype=np.uint8)
    labels[:20, 0] = 1
    splits = iterative_stratification(labels, FRACTIONS, seed=0)
    assert (splits[20:] == "val").sum() == 3 and (splits[20:] == "test").sum() == 3
