"""Column encoders, one module per column kind, chosen through ``base.REGISTRY``."""

from . import boolean, categorical, datetime, numeric, text, uuid  # noqa: F401  (registers them)
from .base import REGISTRY, Encoder, get, state_from_json, state_to_json

__all__ = ["REGISTRY", "Encoder", "get", "state_from_json", "state_to_json"]
