"""The meta-cluster hierarchy above the base clusters, and the fitted tree."""

from ._meta import (
    build_hierarchy,
    level_bound,
    level_target,
    nested_partition,
    plan_levels,
)
from ._tree import Cluster, ClusterTree

__all__ = [
    "Cluster",
    "ClusterTree",
    "build_hierarchy",
    "level_bound",
    "level_target",
    "nested_partition",
    "plan_levels",
]
