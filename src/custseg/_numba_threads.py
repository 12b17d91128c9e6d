"""How many threads numba's parallel loops use inside a block (a light module: importing it
compiles and loads no kernel)."""

from __future__ import annotations

from numba import config, get_num_threads, set_num_threads


class NumbaThreads:
    """Run numba's parallel loops on ``n`` threads inside the block (at most numba's
    ``NUMBA_NUM_THREADS``; ``None``: leave the setting), then restore the setting."""

    def __init__(self, n: int | None):
        self.n = n
        self.saved: int | None = None

    def __enter__(self) -> int:
        if self.n is not None:
            self.saved = get_num_threads()
            set_num_threads(max(1, min(int(self.n), int(config.NUMBA_NUM_THREADS))))
        return get_num_threads()

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            set_num_threads(self.saved)
