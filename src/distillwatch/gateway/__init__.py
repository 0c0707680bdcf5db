"""The enforcement gateway: an OpenAI-compatible reverse proxy and an ASGI middleware.

See ``docs/gateway.md``. Needs the ``gateway`` extra (``pip install distillwatch[gateway]``).
"""

from distillwatch.gateway.app import Gateway, GatewayConfig, build_gateway
from distillwatch.gateway.middleware import DistillwatchMiddleware

__all__ = ["DistillwatchMiddleware", "Gateway", "GatewayConfig", "build_gateway"]
