"""The system after summarisation as one clusterer, and the whole Pipeline."""

from ._clusterer import Cluster, ConversationClusterer
from ._factory import make_kura_pipeline

__all__ = ["Cluster", "ConversationClusterer", "make_kura_pipeline"]
