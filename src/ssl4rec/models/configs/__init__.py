"""Model configs, one module per model (named like the model's file), importable without torch.

A model file re-exports its config (``from ssl4rec.models.ease import EASEConfig``
works), and the registry resolves a model name to its config class through these
modules, so reading and validating an experiment never imports a model.
"""
