"""The pull-request report: plots embedded for a comment that uploads them, named for one that does not."""

from __future__ import annotations

from distillery import report


def test_the_report_embeds_the_plots_or_names_where_they_are(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(report, "dvc_json", lambda *args: {})
    (tmp_path / "pr_curves.png").write_bytes(b"\x89PNG")
    embedded = report.report("main", tmp_path)
    assert f"![pr_curves.png]({tmp_path / 'pr_curves.png'})" in embedded
    named = report.report("main", tmp_path, embed_images=False)
    assert "![" not in named and f"- `{tmp_path / 'pr_curves.png'}` (in the workflow run's `plots` artifact)" in named
    assert "confusion_matrix.png" not in named  # only plots that exist are listed
