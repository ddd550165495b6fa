"""The message format between ``api._fit_batches`` and its ``_fit_worker`` processes.

A message is a JSON header and a safetensors blob, each preceded by its length (8 bytes,
little-endian). Nothing in it can run code when read (no pickle), so a worker's reply is
loaded exactly like a stored model.
"""

from __future__ import annotations

import json
import struct
from typing import BinaryIO

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

_LENGTH = struct.Struct("<Q")


def write_message(stream: BinaryIO, meta: dict, tensors: dict[str, torch.Tensor]) -> None:
    """Write one message and flush."""
    header = json.dumps(meta).encode("utf-8")
    blob = save_safetensors({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()})
    stream.write(_LENGTH.pack(len(header)) + header + _LENGTH.pack(len(blob)))
    stream.write(blob)
    stream.flush()


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError(f"message cut short: {len(data)} of {size} bytes")
    return data


def read_message(stream: BinaryIO) -> tuple[dict, dict[str, torch.Tensor]]:
    """Read one message.

    Raises:
        EOFError: the stream ended (at a message boundary or inside a message).
        ValueError: the message is malformed.
    """
    header = _read_exactly(stream, _LENGTH.size)
    meta = json.loads(_read_exactly(stream, _LENGTH.unpack(header)[0]))
    size = _LENGTH.unpack(_read_exactly(stream, _LENGTH.size))[0]
    tensors = load_safetensors(_read_exactly(stream, size))
    if not isinstance(meta, dict):
        raise ValueError("message header is not a JSON object")
    return meta, tensors
