"""RudderStack → Mixpanel: the twin of RudderStack's Mixpanel destination."""

from .deletion import deletion_requests
from .processor import transform
from .router import BatchItem, transform_batch

__all__ = ["BatchItem", "deletion_requests", "transform", "transform_batch"]
