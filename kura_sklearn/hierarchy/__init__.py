"""The meta-cluster hierarchy above the base clusters."""

from ._meta import (
    Node,
    build_hierarchy,
    level_bound,
    level_target,
    nested_partition,
    plan_levels,
)

__all__ = [
    "Node",
    "build_hierarchy",
    "level_bound",
    "level_target",
    "nested_partition",
    "plan_levels",
]
