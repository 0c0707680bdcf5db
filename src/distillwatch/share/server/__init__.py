"""The TAXII 2.1 server: configuration, storage, access control and the FastAPI app."""

from __future__ import annotations

from distillwatch.share.server.app import create_app
from distillwatch.share.server.config import ConfigError, ServerConfig, load_config
from distillwatch.share.server.store import Store

__all__ = ["ConfigError", "ServerConfig", "Store", "create_app", "load_config"]
