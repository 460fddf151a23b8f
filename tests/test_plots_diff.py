"""``dvc plots diff`` overlays two revisions' precision-recall curves (the DVC plot data evaluate writes)."""

from __future__ import annotations

import json
import re

import numpy as np

from distillery.tasks.classification.plots import write_pr_data
from tests.dvc_repo import DvcRepo


def vega_specs(page: str) -> dict[str, dict]:
    """The Vega-Lite specs DVC's page embeds, by the id of the element each is drawn into."""
    found = re.findall(r"var spec = (\{.*?\});\s*vegaEmbed\('#([^']+)', spec\)", page, re.DOTALL)
    return {element: json.loads(spec) for spec, element in found}


def test_dvc_plots_diff_overlays_the_pr_curves_of_two_revisions(tmp_path) -> None:
    repo = DvcRepo.copy_of_this_repo(tmp_path / "repo")
    pr = repo.root / "metrics" / "plots" / "evaluate" / "pr"
    rng = np.random.default_rng(0)
    targets = (rng.random((300, 2)) < 0.4).astype(np.uint8)
    for noise, message in ((0.9, "a weaker model"), (0.3, "a stronger model")):
        if pr.exists():
            for csv in pr.iterdir():
                csv.unlink()
            pr.rmdir()
        pr.parent.mkdir(parents=True, exist_ok=True)
        write_pr_data(pr, ["cat", "dog"], targets + rng.normal(0, noise, targets.shape), targets)
        repo.commit(message)
    page = repo.dvc("plots", "diff", "HEAD~1", "HEAD", "-o", "out").stdout
    html = (repo.root / "out" / "index.html").read_text()
    specs = vega_specs(html)
    assert {"metrics_plots_evaluate_pr_class_cat_csv", "metrics_plots_evaluate_pr_class_dog_csv"} <= set(specs), page
    values = specs["metrics_plots_evaluate_pr_micro_average_csv"]["data"]["values"]
    by_revision = {rev: [row["precision"] for row in values if row["rev"] == rev] for rev in ("HEAD~1", "HEAD")}
    assert all(len(precisions) == 101 for precisions in by_revision.values())
    assert np.mean([float(p) for p in by_revision["HEAD"]]) > np.mean([float(p) for p in by_revision["HEAD~1"]])
    assert "loess" not in json.dumps(specs["metrics_plots_evaluate_pr_micro_average_csv"])  # drawn as is, unsmoothed
