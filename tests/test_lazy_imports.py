"""Package ``__init__``s resolve their public names on first use; config modules import no torch."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap

import pytest

# Modules that reading and validating an experiment config imports (the test adds
# every module of ``ssl4rec.models.configs``).
TORCH_FREE = [
    "ssl4rec.models.config",
    "ssl4rec.models.registry",
    "ssl4rec.training.config",
    "ssl4rec.evaluation.metrics",
    "ssl4rec.runner.experiment",
]


@pytest.mark.parametrize("package", ["ssl4rec", "ssl4rec.training", "ssl4rec.evaluation"])
def test_every_public_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'nope'"):
        _ = module.nope


def test_train_config_is_one_class() -> None:
    import ssl4rec.training
    from ssl4rec.training import config, trainer

    assert ssl4rec.training.TrainConfig is trainer.TrainConfig is config.TrainConfig


def test_config_modules_and_their_package_names_import_no_torch() -> None:
    code = textwrap.dedent(
        """
        import importlib, json, pkgutil, sys
        import ssl4rec.models.configs as configs

        names = json.loads(sys.argv[1])
        names += [f"ssl4rec.models.configs.{m.name}" for m in pkgutil.iter_modules(configs.__path__)]
        with_torch = []
        for name in names:
            importlib.import_module(name)
            if "torch" in sys.modules:
                with_torch.append(name)
                break
        import ssl4rec.evaluation, ssl4rec.training
        ssl4rec.training.TrainConfig, ssl4rec.evaluation.parse_metrics
        if "torch" in sys.modules and not with_torch:
            with_torch.append("ssl4rec.training / ssl4rec.evaluation names")
        print(json.dumps({"checked": len(names), "with_torch": with_torch}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(TORCH_FREE)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["with_torch"] == []
    assert result["checked"] > len(TORCH_FREE) + 10  # every model's config module
