"""The privacy table of a suite report: shares, seeds and audit intervals."""

from __future__ import annotations

from typing import Any

from ssl4rec.bench.report.privacy import privacy_lines


def _record(label: str, seed: int, ndcg: float, eps: float | None, auc: float) -> dict[str, Any]:
    privacy: dict[str, Any] = {"epsilon": eps, "unit": "user"}
    if eps is not None:
        privacy.update(delta=1e-5, noise_multiplier=1.2, steps=300)
    return {
        "status": "ok",
        "model": label,
        "model_name": "multvae",
        "seed": seed,
        "metrics": {"ndcg@10": ndcg},
        "fit_s": 10.0 if eps is None else 20.0,
        "privacy": privacy,
        "audit": {
            "loss_threshold": {"auc": auc, "ci95": [auc - 0.02, auc + 0.02]},
            "calibrated": {"auc": auc + 0.01, "ci95": [auc - 0.01, auc + 0.03]},
        },
    }


def test_rows_average_their_seeds_and_share_the_non_private_reference() -> None:
    records = [
        _record("multvae-nodp", 0, 0.040, None, 0.70),
        _record("multvae-nodp", 1, 0.044, None, 0.72),
        _record("multvae-eps8", 0, 0.020, 8.0, 0.50),
        _record("multvae-eps8", 1, 0.024, 8.0, 0.54),
    ]
    lines = privacy_lines(records, "ndcg@10")
    (nodp,) = [line for line in lines if line.startswith("| multvae-nodp")]
    (dp,) = [line for line in lines if line.startswith("| multvae-eps8")]
    assert "(2 seeds)" in nodp and "0.0420 ± 0.0020" in nodp
    cells = [c.strip() for c in dp.split("|")[1:-1]]
    assert cells[1] == "8" and cells[5] == "0.0220 ± 0.0020"
    assert cells[6] == f"{0.022 / 0.042:.0%}"  # share of the non-private mean
    assert cells[7] == "0.520 [0.500, 0.540]"  # loss attack: mean AUC and mean bounds
    assert cells[10] == "2.0"  # fit time against the non-private mean
    assert any("mean over seeds" in line for line in lines)


def test_no_private_cells_no_table() -> None:
    assert privacy_lines([{"status": "ok", "metrics": {"ndcg@10": 0.1}}], "ndcg@10") == []


def test_a_private_row_is_measured_against_the_non_private_row_with_its_settings() -> None:
    def sasrec(label: str, seed: int, ndcg: float, eps: float | None, loss: str) -> dict:
        record = _record(label, seed, ndcg, eps, 0.6)
        epochs = 100 if eps is None else 5
        record.update(
            model_name="sasrec",
            config={"model": {"name": "sasrec", "loss": loss, "epochs": epochs}},
        )
        return record

    records = [
        sasrec("full-nodp", 0, 0.050, None, "ce"),
        sasrec("sampled-nodp", 0, 0.040, None, "sampled_ce"),
        sasrec("sampled-eps8", 0, 0.030, 8.0, "sampled_ce"),
        sasrec("full-eps8", 0, 0.025, 8.0, "ce"),
    ]
    lines = privacy_lines(records, "ndcg@10")
    (sampled,) = [line for line in lines if line.startswith("| sampled-eps8")]
    (full,) = [line for line in lines if line.startswith("| full-eps8")]
    assert sampled.split("|")[7].strip() == "75%"  # 0.030 / 0.040, not / 0.050
    assert full.split("|")[7].strip() == "50%"
