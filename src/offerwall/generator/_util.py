"""Vectorised helpers: counter-based hashing, hex ids, time conversion, Arrow building."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_HOUR = 60 * US_PER_MINUTE
US_PER_DAY = 24 * US_PER_HOUR
NEVER = np.iinfo(np.int64).max  # "no such event" on int64 microsecond time axes



def mix64(x: np.ndarray | int, salt: int = 0) -> np.ndarray:
    """splitmix64 finaliser over uint64 (wrapping arithmetic): a fast deterministic hash."""
    z = np.asarray(x, dtype=np.uint64) + np.uint64((0x9E3779B97F4A7C15 * (salt + 1)) & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def hash_uniform(x: np.ndarray, salt: int) -> np.ndarray:
    """Uniform [0, 1) floats, a pure function of (x, salt)."""
    return (mix64(x, salt) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _hex_lut() -> np.ndarray:
    """Two bytes (as a little-endian uint16) -> their four hex characters (as a uint32)."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8).astype(np.uint32)
    pair = np.arange(65536, dtype=np.uint32)
    b0, b1 = pair & 255, pair >> 8
    return digits[b0 >> 4] | digits[b0 & 15] << 8 | digits[b1 >> 4] << 16 | digits[b1 & 15] << 24


_HEX_LUT = _hex_lut()


def hex_strings(values: np.ndarray, width: int = 16, prefix: str = "") -> pa.Array:
    """uint64 -> lowercase hex strings (Arrow) of its last `width` (<= 16) hex digits, vectorised."""
    v = np.ascontiguousarray(np.asarray(values, dtype=np.uint64).astype(">u8"))
    n_quads = -(-width // 4)
    quads = v.view(np.uint16).reshape(-1, 4)[:, 4 - n_quads:]
    chars = _HEX_LUT[quads].view(np.uint8).reshape(len(v), 4 * n_quads)[:, 4 * n_quads - width:]
    if prefix:
        pre = np.frombuffer(prefix.encode(), dtype=np.uint8)
        chars = np.hstack([np.broadcast_to(pre, (len(v), len(pre))), chars])
    n, w = chars.shape
    buf = pa.py_buffer(np.ascontiguousarray(chars))
    offsets = pa.py_buffer(np.arange(0, (n + 1) * w, w, dtype=np.int32))
    return pa.Array.from_buffers(pa.string(), n, [None, offsets, buf])


def to_us(value: dt.date | dt.datetime) -> int:
    """Date or naive-UTC datetime -> int64 microseconds since the epoch."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    delta = value - dt.datetime(1970, 1, 1)
    return (delta.days * 86400 + delta.seconds) * US_PER_SECOND + delta.microseconds


def from_us(value: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(value))


def ts_array(us: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """int64 microseconds -> Arrow timestamp[us]; mask marks NULLs."""
    return pa.array(np.asarray(us, dtype=np.int64), type=pa.timestamp("us"), mask=mask)


def take_strings(pool: pa.Array, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """pool[idx] as Arrow strings; mask marks NULLs."""
    out = pool.take(pa.array(np.asarray(idx, dtype=np.int64)))
    if mask is not None and mask.any():
        out = pa.compute.if_else(pa.array(mask), pa.scalar(None, pa.string()), out)
    return out


def group_positions(counts: np.ndarray) -> np.ndarray:
    """For groups of the given sizes laid out consecutively: 0-based position inside each group."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts
