"""Data-parallel training with 2 CPU processes (gloo): equivalence, a killed rank, resume.

Each test starts real processes running ``python -m ssl4rec.testing.distributed``
with the launcher's environment set by hand (``RANK``, ``WORLD_SIZE``, ``MASTER_*``),
so a killed rank is not cleaned up by an agent: the survivors must fail on their own.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess  # nosec B404 - test processes, argument lists without a shell
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.training.config import TrainConfig

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="torch.distributed is not built in"
)

JOB = [sys.executable, "-m", "ssl4rec.testing.distributed"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_ranks(n: int, args: list[str], timeout: float = 120.0) -> list[tuple[int, str]]:
    """Start ``n`` ranks of the job; their exit codes and stderr, rank order."""
    port = free_port()
    procs = []
    for rank in range(n):
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        if n > 1:
            env.update(
                RANK=str(rank),
                LOCAL_RANK=str(rank),
                WORLD_SIZE=str(n),
                LOCAL_WORLD_SIZE=str(n),
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=str(port),
            )
        else:
            for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
                env.pop(key, None)
        procs.append(
            subprocess.Popen(  # nosec B603 - fixed argument list
                [*JOB, *args], env=env, stderr=subprocess.PIPE, text=True
            )
        )
    out = []
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            pytest.fail(f"a rank still ran after {timeout} s (hang)")
        out.append((proc.returncode, err))
    return out


def result(out: Path) -> dict:
    return json.loads((out / "result.json").read_text())


DAE = ["--model", "multdae", "--epochs", "5", "--timeout", "30"]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """An uninterrupted 2-rank Mult-DAE run with a run folder."""
    root = tmp_path_factory.mktemp("two")
    out = run_ranks(
        2, [str(root / "out"), *DAE, "--batch-size", "40", "--run-dir", str(root / "run")]
    )
    assert [rc for rc, _ in out] == [0, 0], [err[-2000:] for _, err in out]
    return root / "out"


def test_two_ranks_step_exactly_as_one_process_with_the_same_global_batch(tmp_path, two_ranks):
    """Mult-DAE without dropout, one full-batch step per epoch: 2 ranks × 40 users give
    the same gradient as 1 process × 80 users, so the weights agree to float rounding."""
    one = run_ranks(1, [str(tmp_path / "one"), *DAE, "--batch-size", "80"])
    assert one[0][0] == 0, one[0][1][-2000:]
    w1 = load_file(str(tmp_path / "one" / "weights.safetensors"))
    w2 = load_file(str(two_ranks / "weights.safetensors"))
    assert w1.keys() == w2.keys()
    for key in w1:
        torch.testing.assert_close(w2[key], w1[key], rtol=1e-5, atol=1e-6)
    r1, r2 = result(tmp_path / "one"), result(two_ranks)
    assert r2["summary"]["processes"] == 2 and r1["summary"]["processes"] == 1
    assert r2["valid_ndcg@10"] == pytest.approx(r1["valid_ndcg@10"], abs=1e-6)
    assert r2["losses"] and r2["summary"]["epochs_run"] == 5


def test_a_killed_rank_fails_the_other_clearly_and_the_run_resumes(tmp_path, two_ranks):
    run_dir = tmp_path / "run"
    args = [*DAE, "--batch-size", "40", "--run-dir", str(run_dir)]
    killed = run_ranks(2, [str(tmp_path / "killed"), *args, "--kill-rank", "1"], timeout=90)
    (rc0, err0), (rc1, _) = killed
    assert rc1 == -9  # SIGKILL after epoch 2
    assert rc0 != 0
    assert "DistributedError" in err0 and "rank 0 of 2: a collective failed" in err0, err0[-2000:]
    assert json.loads((run_dir / "last.json").read_text())["state"]["epoch"] == 2
    resumed = run_ranks(2, [str(tmp_path / "resumed"), *args, "--resume"])
    assert [rc for rc, _ in resumed] == [0, 0], [err[-2000:] for _, err in resumed]
    a = load_file(str(tmp_path / "resumed" / "weights.safetensors"))
    b = load_file(str(two_ranks / "weights.safetensors"))
    for key in b:  # every rank resumed where it stopped: the uninterrupted run's weights
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert result(tmp_path / "resumed")["summary"]["epochs_run"] == 5


def test_every_kind_of_gradient_model_trains_data_parallel(tmp_path):
    """Two optimizers (CFGAN), phases (RecVAE), pairs (BPR), a user node (CDAE), cloze
    (BERT4Rec), contrastive + sampled softmax (CL4SRec), item text (SASRec)."""
    out = run_ranks(2, [str(tmp_path / "zoo"), "--model", "zoo"])
    assert [rc for rc, _ in out] == [0, 0], [err[-2000:] for _, err in out]
    summaries = json.loads((tmp_path / "zoo" / "result.json").read_text())
    assert set(summaries) == {"bpr", "cfgan", "recvae", "cdae", "bert4rec", "cl4srec", "sasrec"}
    for name, summary in summaries.items():
        assert summary["processes"] == 2 and summary["epochs_run"] == 2, name
        assert 0.0 <= summary["best_metric"] <= 1.0, name


@pytest.mark.slow
def test_two_ranks_learn_as_well_as_one_process(tmp_path):
    """Mult-VAE with dropout and sampling on several mini-batches per epoch: the shards
    differ from one process's batches, so the runs are not step-identical; the last
    epoch's training loss agrees within 10 % and validation NDCG@10 within 0.1."""
    args = ["--model", "multvae", "--epochs", "10"]
    one = run_ranks(
        1, [str(tmp_path / "one"), *args, "--batch-size", "16", "--run-dir", str(tmp_path / "r1")]
    )
    two = run_ranks(
        2, [str(tmp_path / "two"), *args, "--batch-size", "8", "--run-dir", str(tmp_path / "r2")]
    )
    assert [rc for rc, _ in one + two] == [0, 0, 0], [err[-2000:] for _, err in one + two]
    r1, r2 = result(tmp_path / "one"), result(tmp_path / "two")
    assert r2["losses"][-1] == pytest.approx(r1["losses"][-1], rel=0.10)
    assert abs(r2["valid_ndcg@10"] - r1["valid_ndcg@10"]) <= 0.1
    assert r2["valid_ndcg@10"] > 0.3  # Pop is about 0.1 on the blocks


def test_timeout_setting_is_checked():
    with pytest.raises(ConfigError, match="dist_timeout_s"):
        TrainConfig(dist_timeout_s=0)
