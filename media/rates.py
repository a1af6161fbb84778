"""The pre-check's rate: the best over any half second of a transfer, on both sides."""
from __future__ import annotations

WINDOW_SECONDS = 0.5


def best_rate_kbps(arrivals: list[tuple[float, int]], window: float = WINDOW_SECONDS) -> int:
    """The best rate over any `window` seconds of the transfer (the whole of it if shorter).

    Congestion control saws below a bottleneck's rate and recovers; its peaks show the
    link's capacity better than the average does (bench/video_precheck.py compares them).
    """
    if len(arrivals) < 2:
        return 0
    best, start, total = 0.0, 0, 0
    for when, size in arrivals:
        total += size
        while when - arrivals[start][0] > window:
            total -= arrivals[start][1]
            start += 1
        span = when - arrivals[start][0]
        if span >= window * 0.9:
            best = max(best, (total - arrivals[start][1]) * 8 / span / 1000)
    if best == 0.0:
        span = arrivals[-1][0] - arrivals[0][0]
        best = sum(size for _, size in arrivals[1:]) * 8 / span / 1000 if span else 0.0
    return round(best)
