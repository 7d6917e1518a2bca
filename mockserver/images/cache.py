"""Bounded in-memory cache for rendered output files.

Outputs are rendered lazily on first GET; re-rendering is cheap but not free, and
clients poll the same URLs repeatedly. This LRU keeps recent files up to a byte budget
and is safe to share between Flask worker threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["ImageCache"]


class ImageCache:
    """Thread-safe LRU of ``str -> bytes`` bounded by the total size of the values.

    An item larger than ``max_bytes`` is not stored at all (it would evict everything
    and then itself).
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        """The cached bytes for ``key`` (marking it recently used), or None."""
        with self._lock:
            data = self._items.get(key)
            if data is None:
                self._misses += 1
                return None
            self._items.move_to_end(key)
            self._hits += 1
            return data

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, evicting least recently used items past the budget."""
        data = bytes(data)
        with self._lock:
            self._discard(key)
            if len(data) > self.max_bytes:
                return
            self._items[key] = data
            self._size += len(data)
            while self._size > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._size -= len(old)
                self._evictions += 1

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    def stats(self) -> dict[str, int]:
        """Counters: items, bytes, max_bytes, hits, misses, evictions."""
        with self._lock:
            return {
                "items": len(self._items),
                "bytes": self._size,
                "max_bytes": self.max_bytes,
                "hits": self._hits,
                "misses": self._misses,
                "evictions": self._evictions,
            }

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def _discard(self, key: str) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._size -= len(old)
