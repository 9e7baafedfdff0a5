"""The model registry: names resolve to model classes and, without torch, to config classes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.models import registry
from ssl4rec.models.base import GradientConfig, ModelConfig
from ssl4rec.models.config import GradientConfig as TorchFreeGradientConfig
from ssl4rec.models.config import ModelConfig as TorchFreeModelConfig


@pytest.mark.parametrize("name", registry.list_models())
def test_config_class_is_the_model_classes(name: str) -> None:
    config_class = registry.get_config_class(name)
    assert config_class is registry.get_model_class(name).config_class
    assert config_class.__module__.startswith("ssl4rec.models.configs.")
    assert issubclass(config_class, ModelConfig)


@pytest.mark.parametrize("name", registry.list_models())
def test_model_module_re_exports_its_config(name: str) -> None:
    model_class = registry.get_model_class(name)
    module = sys.modules[model_class.__module__]
    config_class = registry.get_config_class(name)
    assert getattr(module, config_class.__name__) is config_class
    assert config_class.__name__ in module.__all__


def test_config_bases_are_re_exported_by_models_base() -> None:
    assert ModelConfig is TorchFreeModelConfig
    assert GradientConfig is TorchFreeGradientConfig


def test_config_classes_resolve_without_importing_a_model_or_torch() -> None:
    code = textwrap.dedent(
        """
        import json, sys
        from ssl4rec.models import registry
        for name in registry.list_models():
            registry.get_config_class(name)()  # built and validated
        models = {e.model.split(":")[0] for e in registry.MODELS.values()}
        print(json.dumps(sorted(m for m in {"torch", *models} if m in sys.modules)))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


@pytest.mark.parametrize("resolve", [registry.get_config_class, registry.get_model_class])
def test_unknown_name_is_named_with_a_hint(resolve) -> None:
    with pytest.raises(ConfigError, match=r"model.name must be one of .*'sasrc' \(did you mean 'sasrec'\?\)"):
        resolve("sasrc")


def test_names_are_case_insensitive() -> None:
    assert registry.get_config_class("SASRec") is registry.get_config_class("sasrec")
