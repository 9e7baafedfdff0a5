"""Why an item was recommended: a weight per history item, from one of several methods.

``explain(model, history, items, method=None)`` returns one ``Explanation`` per item;
the methods are objects in ``METHODS`` that each declare the models they support
(``supported_methods(model)``). ``fidelity`` measures how faithful a method is
(deletion and insertion curves), ``compare_fidelity`` several methods on the same
users; ``token_weights`` weighs the words of a text model's item text;
``ssl4rec.explain.plot`` draws the weights as a heatmap (imported on its own:
it loads matplotlib).
"""

from __future__ import annotations

# the built-in methods register themselves in METHODS on import; the package runs this
# before any of its modules, so the registry is complete whichever one is imported
from ssl4rec.explain import methods as _methods  # noqa: F401
from ssl4rec.explain.base import (
    METHODS,
    Explanation,
    ExplanationMethod,
    explain,
    register,
    supported_methods,
)
from ssl4rec.explain.fidelity import compare_fidelity, fidelity
from ssl4rec.explain.tokens import token_weights

__all__ = [
    "METHODS",
    "Explanation",
    "ExplanationMethod",
    "compare_fidelity",
    "explain",
    "fidelity",
    "register",
    "supported_methods",
    "token_weights",
]
