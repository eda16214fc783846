"""Replaying a noise-predicting network's forward pass as a CUDA graph.

A DDPM run calls the same small UNet a thousand times with inputs of one shape. At batch 1 each
call is ~100 tiny kernels, so on a GPU the time goes into launching them from Python, not into
the arithmetic. Capturing the call once as a CUDA graph and replaying it turns those launches
into one, which is what brings a 1000-step run down to about a second.

Only CUDA tensors are graphed; on any other device the wrapper calls the network directly, so the
same code path serves the CPU. A capture that fails (an op that cannot be captured, too little
memory) is remembered and that input signature runs eagerly from then on: graphs are a speed-up,
never a new way to fail.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

log = logging.getLogger(__name__)

# Warm-up calls before capture: cuDNN / cuBLAS pick algorithms and allocate workspaces lazily,
# and that must not happen inside the capture.
_WARMUP_CALLS = 3
# Distinct input signatures kept per network (each graph holds its own activation memory).
_MAX_GRAPHS = 8

_Key = tuple[Any, ...]


@dataclass
class _Captured:
    graph: torch.cuda.CUDAGraph
    x: Tensor
    t: Tensor
    labels: Tensor | None
    out: Tensor


class CUDAGraphedNet(nn.Module):
    """Wraps `net(x, t, labels)`; CUDA calls replay a graph captured for their input shapes.

    The wrapper looks like the network to its owner (same parameters, same `config`), so an
    adapter can hold it in place of the network for the length of a run.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self._graphs: dict[_Key, _Captured] = {}
        self._eager: set[_Key] = set()
        self._fingerprint: tuple[int, ...] = ()
        params = list(net.parameters())
        # Moving a module replaces its parameters' storage all together: two of them will do.
        self._watched = (params[0], params[-1]) if params else ()

    @property
    def config(self) -> Any:
        return self.net.config

    @property
    def graph_count(self) -> int:
        return len(self._graphs)

    def forward(self, x: Tensor, t: Tensor, labels: Tensor | None = None) -> Tensor:
        if x.device.type != "cuda" or torch.is_grad_enabled():
            return self.net(x, t, labels)
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        weights = self._label_weights(labels, x.shape[0], x.device)
        key = (tuple(x.shape), x.dtype, x.device, tuple(t.shape), t.dtype,
               None if weights is None else tuple(weights.shape))
        self._drop_stale_graphs()
        if key in self._eager:
            return self.net(x, t, labels)
        captured = self._graphs.get(key)
        if captured is None:
            captured = self._capture(key, x, t, weights)
            if captured is None:
                return self.net(x, t, labels)
        captured.x.copy_(x)
        captured.t.copy_(t)
        if weights is not None and captured.labels is not None:
            captured.labels.copy_(weights)
        captured.graph.replay()
        # The graph writes every replay into the same buffer: hand out a copy the caller may keep.
        return captured.out.clone()

    def _parameter_fingerprint(self) -> tuple[int, ...]:
        return tuple(p.data_ptr() for p in self._watched)

    def _drop_stale_graphs(self) -> None:
        """A graph reads the weights at the addresses they had when it was captured; moving the
        network (to the CPU and back, say) reallocates them, so its graphs must go."""
        fingerprint = self._parameter_fingerprint()
        if fingerprint != self._fingerprint:
            self._graphs.clear()
            self._eager.clear()
            self._fingerprint = fingerprint

    def _label_weights(self, labels: Tensor | None, n: int, device: torch.device) -> Tensor | None:
        """Class indices as one-hot weights. The index path of the label embedding checks the
        range of its input (a host sync, which a capture forbids); weights are the same lookup
        done as a matrix product, with no data-dependent branch."""
        if labels is None:
            return None
        labels = labels.to(device)
        if labels.is_floating_point():
            return labels if labels.shape[0] == n else labels.expand(n, -1)
        embedding = getattr(getattr(self.net, "label_embed", None), "embedding", None)
        if embedding is None:
            return labels  # not a label-embedding network: keep its own conventions
        rows = int(embedding.num_embeddings)
        index = labels.reshape(-1).long()
        if index.shape[0] == 1 and n > 1:
            index = index.expand(n)
        return torch.zeros(n, rows, device=device).scatter_(1, index[:, None], 1.0)

    def _capture(self, key: _Key, x: Tensor, t: Tensor, labels: Tensor | None) -> _Captured | None:
        if len(self._graphs) >= _MAX_GRAPHS:
            self._graphs.pop(next(iter(self._graphs)))
        static_x, static_t = x.clone(), t.clone()
        static_labels = None if labels is None else labels.clone()
        try:
            side = torch.cuda.Stream(device=x.device)
            side.wait_stream(torch.cuda.current_stream(x.device))
            with torch.cuda.stream(side):
                for _ in range(_WARMUP_CALLS):
                    self.net(static_x, static_t, static_labels)
            torch.cuda.current_stream(x.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                out = self.net(static_x, static_t, static_labels)
        except Exception as e:  # noqa: BLE001 - any capture failure means "run this eagerly"
            log.warning("CUDA graph capture failed for input %s (%s); running eagerly", key[0], e)
            self._eager.add(key)
            return None
        captured = _Captured(graph, static_x, static_t, static_labels, out)
        self._graphs[key] = captured
        return captured


# Where a network keeps its wrapper, so a second run with the same shapes reuses the graphs.
_WRAPPER_ATTRIBUTE = "_cuda_graphed_wrapper"


def graphs_available(device: torch.device | str) -> bool:
    return torch.device(device).type == "cuda" and torch.cuda.is_available()


@contextmanager
def cuda_graphed(model: Any, enabled: bool = True) -> Iterator[bool]:
    """For the block's length, `model.net` replays CUDA graphs (when the model is on a CUDA
    device and `enabled`); yields whether it does. The network is put back afterwards."""
    net = getattr(model, "net", None)
    if not enabled or not isinstance(net, nn.Module) or isinstance(net, CUDAGraphedNet) \
            or not graphs_available(model.device):
        yield False
        return
    wrapper = net.__dict__.get(_WRAPPER_ATTRIBUTE)
    if wrapper is None:
        wrapper = CUDAGraphedNet(net)
        # object.__setattr__: as a plain attribute, not a registered submodule (which would put
        # the wrapper into the network's own state dict and module tree).
        object.__setattr__(net, _WRAPPER_ATTRIBUTE, wrapper)
    model.net = wrapper
    try:
        yield True
    finally:
        model.net = net
