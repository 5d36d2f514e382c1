"""A local RudderStack data plane: real SDKs → gateway → processor → router → transformer → simulator.

Written from the behavioural spec ``rudderstack-data-plane.md`` (no RudderStack server code). The
pipeline is :class:`DataPlane`; the HTTP server and the requests-mock adapter hand it the
RudderStack paths (``/v1/*``, beacon, pixel, ``/sourceConfig/``) next to Mixpanel's.
"""

from .answers import ANSWERS
from .filters import SUPPORTED_TYPES
from .gateway import ROUTES
from .pipeline import DEFAULT_WRITE_KEY, DataPlane, as_dataplane
from .records import Delivery, Drop, GatewayExchange, Job
from .timestamps import enhance_time_fields, format_time, parse_time

__all__ = ["ANSWERS", "DEFAULT_WRITE_KEY", "DataPlane", "Delivery", "Drop", "GatewayExchange", "Job", "ROUTES", "as_dataplane",
           "SUPPORTED_TYPES", "enhance_time_fields", "format_time", "parse_time"]
