"""``python -m ssl4rec.dev.audit``: pip-audit over the installed packages, summarised.

pip-audit asks PyPI's advisory data about every installed distribution. This wrapper
runs it with JSON output and prints one line: how many packages were audited, how
many could not be (with the first reasons), and every known vulnerability with its
fix versions. It exits 1 when a vulnerability is found; PyPI's advisories carry no
severity, so every one counts. Packages the service cannot look up (a private index,
no route to PyPI) are reported as not audited, never counted as clean.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["AuditSummary", "main", "summarize"]


@dataclass
class AuditSummary:
    """What one pip-audit run found."""

    audited: list[str] = field(default_factory=list)
    """Packages whose advisories were read."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Package -> why it could not be audited."""
    vulnerable: list[str] = field(default_factory=list)
    """One line per known vulnerability: package, version, id, fix versions."""

    def lines(self) -> list[str]:
        """Human-readable report, summary line first."""
        out = [
            f"pip-audit: {len(self.audited)} packages audited, {len(self.skipped)} not "
            f"audited, {len(self.vulnerable)} known vulnerabilities"
        ]
        if self.skipped and not self.audited:
            reason = next(iter(self.skipped.values()))
            out.append(f"  no package could be audited; the first reason: {reason}")
        out += [f"  {line}" for line in self.vulnerable]
        return out


def summarize(report: Mapping[str, Any]) -> AuditSummary:
    """Read pip-audit's JSON report (``{"dependencies": [...]}``)."""
    summary = AuditSummary()
    for dep in report.get("dependencies", []):
        name = str(dep.get("name"))
        if "skip_reason" in dep:
            summary.skipped[name] = str(dep["skip_reason"])
            continue
        summary.audited.append(name)
        for vuln in dep.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none"
            summary.vulnerable.append(
                f"{name} {dep.get('version')}: {vuln.get('id')} (fixed in: {fixes})"
            )
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Run pip-audit on this environment; print the summary; 1 on any vulnerability."""
    extra = list(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        cmd = [
            sys.executable, "-m", "pip_audit", "--local", "--skip-editable",
            "--progress-spinner", "off", "--format", "json", "--output", str(out), *extra,
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # nosec B603
        if not out.is_file():
            print(proc.stderr.strip() or "pip-audit wrote no report", file=sys.stderr)
            return 2
        summary = summarize(json.loads(out.read_text(encoding="utf-8")))
    print("\n".join(summary.lines()))
    return 1 if summary.vulnerable else 0


if __name__ == "__main__":
    raise SystemExit(main())
