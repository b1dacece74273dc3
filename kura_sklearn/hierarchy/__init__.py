"""The meta-cluster hierarchy above the base clusters."""

from ._meta import Node, build_hierarchy

__all__ = ["Node", "build_hierarchy"]
