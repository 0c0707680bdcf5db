"""When requests happen: diurnal human activity, think time, agent bursts, cron jobs, rate caps.

All functions are pure (an explicit ``rng`` in, sorted epoch-second arrays out) and vectorised
with NumPy, so a million timestamps cost milliseconds. Humans are modelled as sessions that
start at hours drawn from a local-time activity profile, with log-normal think times between
turns; machines as Poisson streams, bursts, fixed schedules, or paced loops under a cap.
"""

from __future__ import annotations

import numpy as np

DAY = 86400.0
HOUR = 3600.0

#: Hourly activity by local hour (0-23); normalised when used.
PROFILES: dict[str, np.ndarray] = {
    # evenings and lunch breaks, little at night
    "evening": np.array(
        [2, 1, 0.5, 0.3, 0.3, 0.5, 1, 2, 3, 3, 3, 3, 4, 4, 3, 3, 3, 4, 5, 6, 7, 7, 6, 4],
        dtype=float,
    ),
    # office hours with a lunch dip
    "office": np.array(
        [
            0.2,
            0.1,
            0.1,
            0.1,
            0.1,
            0.2,
            0.5,
            2,
            6,
            9,
            9,
            8,
            5,
            8,
            9,
            9,
            8,
            6,
            3,
            2,
            1.5,
            1,
            0.6,
            0.3,
        ],
        dtype=float,
    ),
    # machines that do not sleep
    "flat": np.ones(24),
}


def _hour_cdf(profile: str) -> np.ndarray:
    w = PROFILES[profile]
    return np.cumsum(w) / w.sum()


def session_starts(
    rng: np.random.Generator,
    start: float,
    end: float,
    per_day: float,
    tz_hours: float,
    profile: str,
    weekend_factor: float = 1.0,
) -> np.ndarray:
    """Session start instants: Poisson(per_day) per local day, at profile-weighted hours."""
    first = np.floor((start + tz_hours * HOUR) / DAY) * DAY - tz_hours * HOUR
    days = first + DAY * np.arange(int(np.ceil((end - first) / DAY)) + 1)
    counts = rng.poisson(per_day, len(days))
    t = _at_local(rng, np.repeat(days, counts), profile)
    if weekend_factor < 1.0:
        # 2026-03-02 (and the epoch + 4 days) is a Monday: weekday 0.
        weekday = ((np.floor((t + tz_hours * HOUR) / DAY) + 3) % 7).astype(int)
        t = t[(weekday < 5) | (rng.random(len(t)) < weekend_factor)]
    return np.sort(t[(t >= start) & (t < end)])


def _at_local(
    rng: np.random.Generator, local_midnights_utc: np.ndarray, profile: str
) -> np.ndarray:
    hours = np.searchsorted(_hour_cdf(profile), rng.random(len(local_midnights_utc)))
    return local_midnights_utc + (hours + rng.random(len(hours))) * HOUR


def sessions(
    rng: np.random.Generator,
    starts: np.ndarray,
    mean_len: float,
    gap_median: float,
    gap_sigma: float = 0.8,
    max_len: int = 400,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expand session starts into requests with log-normal gaps.

    Returns (ts, session index, step index within session); ``ts`` is not globally sorted
    when sessions overlap — callers sort with the same permutation for all three arrays.
    """
    n = len(starts)
    if n == 0:
        z = np.zeros(0)
        return z, z.astype(np.int64), z.astype(np.int64)
    lengths = np.minimum(rng.geometric(1.0 / max(mean_len, 1.0), n), max_len)
    sid = np.repeat(np.arange(n), lengths)
    offsets = np.cumsum(lengths) - lengths
    step = np.arange(lengths.sum()) - np.repeat(offsets, lengths)
    gaps = rng.lognormal(np.log(gap_median), gap_sigma, len(sid))
    gaps[offsets] = 0.0
    cum = np.cumsum(gaps)
    ts = starts[sid] + cum - np.repeat(cum[offsets], lengths)
    return ts, sid, step


def poisson_stream(
    rng: np.random.Generator,
    start: float,
    end: float,
    per_day: float,
    tz_hours: float = 0.0,
    profile: str = "flat",
) -> np.ndarray:
    """A Poisson stream with a diurnal profile (by thinning), ``per_day`` events on average."""
    if end <= start or per_day <= 0:
        return np.zeros(0)
    w = PROFILES[profile]
    peak = w.max() / w.mean()
    n = rng.poisson(per_day * peak * (end - start) / DAY)
    t = np.sort(start + rng.random(n) * (end - start))
    local_hour = (((t / HOUR) + tz_hours) % 24).astype(int)
    keep = rng.random(n) < w[local_hour] / w.max()
    return t[keep]


def paced(
    rng: np.random.Generator, windows: np.ndarray, max_per_hour: int, fill: float = 0.85
) -> np.ndarray:
    """Requests paced inside ``windows`` (k x 2 array of [start, end)) under a hard cap.

    Consecutive gaps are at least ``3600 / max_per_hour`` seconds (times 1.01), so any
    sliding hour holds at most ``max_per_hour`` requests — what a client that knows the
    provider's per-key limit does. ``fill`` < 1 leaves random slack (jitter) in the pacing.
    """
    min_gap = HOUR / max_per_hour * 1.01
    mean_extra = min_gap * (1.0 / max(fill, 1e-3) - 1.0)
    out = []
    last = -np.inf
    for a, b in windows:
        a = max(a, last + min_gap)
        n = int((b - a) / (min_gap + mean_extra)) + 2
        if n <= 0 or b <= a:
            continue
        gaps = min_gap + rng.exponential(mean_extra, n) if mean_extra > 0 else np.full(n, min_gap)
        gaps[0] = rng.random() * min_gap
        t = a + np.cumsum(gaps)
        t = t[t < b]
        if len(t):
            out.append(t)
            last = t[-1]
    return np.concatenate(out) if out else np.zeros(0)


def daily_windows(
    rng: np.random.Generator,
    start: float,
    end: float,
    hours: float,
    tz_hours: float = 0.0,
    jitter_h: float = 2.0,
) -> np.ndarray:
    """One working window of ``hours`` per day (start hour jittered), clipped to [start, end)."""
    first = np.floor((start + tz_hours * HOUR) / DAY) * DAY - tz_hours * HOUR
    days = first + DAY * np.arange(int(np.ceil((end - first) / DAY)) + 1)
    base = rng.uniform(0, 24 - min(hours, 23.9))
    a = days + ((base + rng.uniform(-jitter_h, jitter_h, len(days))) % 24) * HOUR
    w = np.stack([np.clip(a, start, end), np.clip(a + hours * HOUR, start, end)], axis=1)
    return w[w[:, 1] > w[:, 0]]


def schedule(start: float, end: float, every_s: float, phase_s: float) -> np.ndarray:
    """A cron-like schedule: ``start`` aligned to ``every_s`` plus ``phase_s``, until ``end``."""
    first = np.floor(start / every_s) * every_s + phase_s
    t = first + every_s * np.arange(int((end - first) / every_s) + 1)
    return t[(t >= start) & (t < end)]
