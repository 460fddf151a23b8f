"""The pull-request report: plots embedded for a comment that uploads them, named for one that does not."""

from __future__ import annotations

import json

from distillery import report
from tests.dvc_repo import DvcRepo


def test_the_report_embeds_the_plots_or_names_where_they_are(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(report, "dvc_table", lambda *args: "_no change_")
    (tmp_path / "pr_curves.png").write_bytes(b"\x89PNG")
    embedded = report.report("main", tmp_path)
    assert f"![pr_curves.png]({tmp_path / 'pr_curves.png'})" in embedded
    named = report.report("main", tmp_path, embed_images=False)
    assert "![" not in named and f"- `{tmp_path / 'pr_curves.png'}` (in the workflow run's `plots` artifact)" in named
    assert "confusion_matrix.png" not in named  # only plots that exist are listed


def test_the_tables_are_dvcs_own_and_say_when_nothing_changed(tmp_path, monkeypatch) -> None:
    repo = DvcRepo(tmp_path)
    repo.run("git", "init", "-q")
    repo.dvc("init", "-q")
    (tmp_path / "dvc.yaml").write_text("metrics:\n  - metrics/train.json\n")
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "train.json").write_text(json.dumps({"teacher": {"val": {"macro_f1": 0.91}}}))
    repo.commit("base")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", repo.env["PATH"])
    assert report.dvc_table("metrics", "diff", "HEAD") == "_no change_"
    (tmp_path / "metrics" / "train.json").write_text(json.dumps({"teacher": {"val": {"macro_f1": 0.93}}}))
    table = report.dvc_table("metrics", "diff", "HEAD").splitlines()
    assert len(table) == 3 and table[0].split() == ["|", "Path", "|", "Metric", "|", "HEAD", "|", "workspace", "|",
                                                    "Change", "|"]
    assert table[2].split() == ["|", "metrics/train.json", "|", "teacher.val.macro_f1", "|", "0.91", "|", "0.93", "|",
                                "0.02", "|"]
