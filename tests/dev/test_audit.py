"""The pip-audit summary: vulnerabilities fail, packages that could not be audited are named."""

from __future__ import annotations

from ssl4rec.dev.audit import summarize


def test_vulnerabilities_and_skips_are_reported() -> None:
    report = {
        "dependencies": [
            {"name": "good", "version": "1.0", "vulns": []},
            {
                "name": "bad",
                "version": "2.0",
                "vulns": [{"id": "PYSEC-1", "fix_versions": ["2.1", "3.0"]}],
            },
            {"name": "private", "skip_reason": "Dependency not found on PyPI"},
        ]
    }
    summary = summarize(report)
    assert summary.audited == ["good", "bad"]
    assert summary.skipped == {"private": "Dependency not found on PyPI"}
    assert summary.vulnerable == ["bad 2.0: PYSEC-1 (fixed in: 2.1, 3.0)"]
    assert summary.lines()[0] == (
        "pip-audit: 2 packages audited, 1 not audited, 1 known vulnerabilities"
    )


def test_nothing_audited_is_said_plainly() -> None:
    summary = summarize({"dependencies": [{"name": "x", "skip_reason": "no route"}]})
    assert not summary.vulnerable
    assert summary.lines()[1] == "  no package could be audited; the first reason: no route"
