"""The system after summarisation as one clusterer, and the whole Pipeline."""

from ..hierarchy import Cluster, ClusterTree
from ._clusterer import ConversationClusterer
from ._factory import make_kura_pipeline

__all__ = ["Cluster", "ClusterTree", "ConversationClusterer", "make_kura_pipeline"]
