"""RudderStack → Mixpanel: the twin of RudderStack's Mixpanel destination."""

from .processor import transform
from .router import BatchItem, transform_batch

__all__ = ["BatchItem", "transform", "transform_batch"]
