"""The progress helper in ssl4rec.logging."""

from __future__ import annotations

from ssl4rec.logging import progress, progress_enabled


def test_disabled_passes_items_through(capsys) -> None:
    assert list(progress(range(3), desc="x", enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_enabled_draws_a_bar(capsys) -> None:
    postfix: dict[str, object] = {}
    out = []
    for i in progress(range(3), desc="epoch 1", enabled=True, postfix=postfix):
        postfix["loss"] = float(i)
        out.append(i)
    assert out == [0, 1, 2]
    assert "epoch 1" in capsys.readouterr().err


def test_auto_is_off_when_stderr_is_not_a_tty() -> None:
    # pytest captures stderr, so it is not a terminal here
    assert progress_enabled(None) is False
    assert progress_enabled(True) is True
