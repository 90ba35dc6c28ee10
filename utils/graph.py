"""Computational graphs: a scalar ``Value`` that records how it was computed.

Every arithmetic operation creates a new node that remembers its inputs (the edges)
and the local derivative of the operation. ``backward()`` visits the nodes in reverse
topological order and applies the chain rule: each node adds
(its gradient) x (local derivative) to the gradient of each input. A node used twice
receives two contributions, which is why gradients are accumulated with ``+=``.

    >>> a, b, c = Value(2.0, "a"), Value(3.0, "b"), Value(1.0, "c")
    >>> Y = (a + b) * (b - c)
    >>> Y.backward(); (Y.data, a.grad, b.grad, c.grad)
    (10.0, 2.0, 7.0, -5.0)
"""

from __future__ import annotations

import math
import numbers

__all__ = ["Value", "backpropagate", "topological_order", "draw_graph"]


class Value:
    """A scalar node of a computational graph, with ``data`` and ``grad`` (dRoot/dself)."""

    def __init__(self, data, label: str = "", _parents=(), _op: str = ""):
        if isinstance(data, bool) or not isinstance(data, numbers.Real):
            raise ValueError(f"Value holds a real number, got {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self._parents = tuple(_parents)
        self._op = _op
        self._local = ()  # d(self)/d(parent) for each parent, filled by the operations

    def __repr__(self) -> str:
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.6g}, grad={self.grad:.6g})"

    # ------------------------------------------------------------------ building blocks
    @staticmethod
    def _lift(other) -> Value:
        return other if isinstance(other, Value) else Value(other)

    def _node(self, data: float, parents, local, op: str) -> Value:
        out = Value(data, _parents=parents, _op=op)
        out._local = tuple(local)
        return out

    def __add__(self, other):
        other = self._lift(other)
        return self._node(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        other = self._lift(other)
        return self._node(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, exponent):
        if not isinstance(exponent, numbers.Real) or isinstance(exponent, bool):
            raise ValueError("Value ** p needs a plain number p")
        if self.data == 0 and exponent < 1:
            raise ValueError(f"0 ** {exponent} has no derivative")
        value = self.data ** exponent
        return self._node(value, (self,), (exponent * self.data ** (exponent - 1),),
                          f"**{exponent:g}")

    def __neg__(self):
        return self._node(-self.data, (self,), (-1.0,), "neg")

    def __sub__(self, other):
        other = self._lift(other)
        return self._node(self.data - other.data, (self, other), (1.0, -1.0), "-")

    def __truediv__(self, other):
        other = self._lift(other)
        if other.data == 0:
            raise ZeroDivisionError("division by a Value equal to 0")
        return self._node(self.data / other.data, (self, other),
                          (1.0 / other.data, -self.data / other.data**2), "/")

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def exp(self):
        e = math.exp(self.data)
        return self._node(e, (self,), (e,), "exp")

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log needs a positive value, got {self.data}")
        return self._node(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def sin(self):
        return self._node(math.sin(self.data), (self,), (math.cos(self.data),), "sin")

    def tanh(self):
        t = math.tanh(self.data)
        return self._node(t, (self,), (1.0 - t * t,), "tanh")

    def sigmoid(self):
        z = self.data
        s = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        return self._node(s, (self,), (s * (1.0 - s),), "sigmoid")

    def relu(self):
        return self._node(max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,),
                          "relu")

    # ------------------------------------------------------------------ backward pass
    def backward(self) -> None:
        """Set ``grad`` of every node below this one to d(self)/d(node): ``backpropagate``."""
        backpropagate(self)


def backpropagate(root: Value) -> None:
    """The backward pass of ``root``'s graph: every node's ``grad`` becomes d(root)/d(node).

    Start from d(root)/d(root) = 1 and visit the nodes from the result back to the inputs
    (reverse topological order). A node hands each of its inputs
    (its own gradient) x (the local derivative d(node)/d(input)); an input used by several
    nodes adds up their contributions (the chain rule's sum over paths)."""
    order = topological_order(root)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        for parent, local in zip(node._parents, node._local, strict=True):
            parent.grad += node.grad * local


def topological_order(root: Value) -> list[Value]:
    """Every node reachable from ``root``, each after all of its inputs (iterative DFS)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node._parents if id(p) not in seen)
    return order


def draw_graph(root: Value, ax=None, title: str | None = None, grads: dict | None = None):
    """Draw the graph of ``root`` left (inputs) to right (result) with matplotlib.

    Each value is a box 'label = data'; each operation is a circle between its inputs and
    its result. Gradients are written under the values once ``root.backward()`` has run, or,
    with ``grads`` ({node: gradient}, for example the ones you derived by hand), under the
    nodes it names.
    """
    import matplotlib.pyplot as plt

    order = topological_order(root)
    depth: dict[int, int] = {}
    for node in order:  # inputs come first; an operation circle sits between columns
        parents = [depth[id(p)] for p in node._parents]
        depth[id(node)] = max(parents) + 2 if parents else 0
    columns: dict[int, list[Value]] = {}
    for node in order:
        columns.setdefault(depth[id(node)], []).append(node)
    pos = {}
    for col, nodes in columns.items():
        for row, node in enumerate(nodes):
            pos[id(node)] = (col, (len(nodes) - 1) / 2 - row)
    if ax is None:
        width = 1.6 * (max(columns) + 1)
        height = 1.4 * max(len(v) for v in columns.values()) + 0.8
        _, ax = plt.subplots(figsize=(max(width, 4), max(height, 2.2)))
    for node in order:
        x, y = pos[id(node)]
        if node._parents:
            ox = x - 1
            ax.annotate("", xy=(x - 0.32, y), xytext=(ox + 0.2, y),
                        arrowprops={"arrowstyle": "->", "color": "0.4"})
            ax.text(ox, y, node._op, ha="center", va="center", fontsize=9,
                    bbox={"boxstyle": "circle", "fc": "#fff3d6", "ec": "0.4"})
            for parent in node._parents:
                px, py = pos[id(parent)]
                ax.annotate("", xy=(ox - 0.15, y), xytext=(px + 0.32, py),
                            arrowprops={"arrowstyle": "->", "color": "0.4"})
        text = f"{node.label + ' = ' if node.label else ''}{node.data:.4g}"
        if grads is not None and node in grads:
            text += f"\ngrad {float(grads[node]):.4g}"
        elif grads is None and root.grad != 0:
            text += f"\ngrad {node.grad:.4g}"
        ax.text(x, y, text, ha="center", va="center", fontsize=8,
                bbox={"boxstyle": "round", "fc": "#e3eefb", "ec": "C0"})
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax.figure
