"""A plain multi-layer perceptron block shared by the autoencoders."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ssl4rec.models.config import ACTIVATIONS
from ssl4rec.models.nn.sparse_input import input_linear

__all__ = ["ACTIVATIONS", "MLP", "activation"]


def activation(name: str) -> nn.Module:
    """The activation module for a config name in ``ACTIVATIONS``."""
    table: dict[str, type[nn.Module]] = {
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "relu": nn.ReLU,
        "identity": nn.Identity,
    }
    if name not in table:
        raise ValueError(f"activation must be one of {list(ACTIVATIONS)}; got {name!r}")
    return table[name]()


class MLP(nn.Module):
    """Linear layers ``dims[0] -> dims[1] -> ... -> dims[-1]`` with an activation between.

    Args:
        dims: Layer widths, input first; at least two.
        act: Activation after every hidden layer (see ``ACTIVATIONS``).
        last_act: Activation after the output layer too (default none).
        dropout: Dropout before every linear layer after the first.
        xavier: Xavier-normal weights and N(0, 0.001) biases (Liang et al.'s init).
        sparse_input: the first layer also reads sparse CSR rows
            (``SparseInputLinear``, weight stored ``(dims[0], dims[1])``).
    """

    def __init__(
        self,
        dims: Sequence[int],
        *,
        act: str = "tanh",
        last_act: str = "identity",
        dropout: float = 0.0,
        xavier: bool = True,
        sparse_input: bool = False,
    ) -> None:
        super().__init__()
        if len(dims) < 2:
            raise ValueError(f"MLP needs at least two widths; got {list(dims)}")
        layers: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            if i > 0 and dropout > 0:
                layers.append(nn.Dropout(dropout))
            layers.append(input_linear(d_in, d_out, sparse=sparse_input and i == 0, xavier=xavier))
            is_last = i == len(dims) - 2
            layers.append(activation(last_act if is_last else act))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, dims[0])`` (dense, or sparse CSR with ``sparse_input``) -> ``(batch, dims[-1])``."""
        return self.layers(x)

    def set_output_bias(self, values: torch.Tensor) -> None:
        """Overwrite the last layer's bias with ``values`` ``(dims[-1],)``."""
        last = [m for m in self.layers if isinstance(m, nn.Linear)][-1]
        with torch.no_grad():
            last.bias.copy_(values.to(last.bias))
