"""Pick the faster intra-op thread count for a loop of identical steps, measured on the steps themselves.

On a shared CPU, PyTorch's intra-op threads synchronise at every parallel region, so when another process holds
one of two cores, two threads can be 4-40x slower than one (measured on this 2-core machine: a training step of
the evaluator ran at ~14,000 images/s on one thread and 340-3,800 on two while a sweep job used one core;
on an idle machine two threads are ~1.8x faster than one). ``adaptive_threads`` times a few steps with each
candidate count, runs on with the fastest, and re-measures periodically because the load changes (long loops:
training); ``fastest_threads`` picks once from a short probe (short jobs: evaluation)."""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import torch

T = TypeVar("T")


def adaptive_threads(items: Iterable[T], candidates: Sequence[int] | None = None, probe_steps: int = 5,
                     exploit_steps: int = 200, max_exploit_steps: int = 3200) -> Iterator[T]:
    """Yield ``items`` unchanged while switching ``torch.set_num_threads`` between ``candidates``.

    The time between two yields is taken as the step time of the caller's loop body. Each round times up to
    ``probe_steps`` steps per candidate (median; a candidate is dropped as soon as one of its steps takes over
    twice the best median so far, so a congested count costs one slow step), then runs with the fastest for
    ``exploit_steps`` steps, doubling up to ``max_exploit_steps`` while the same count keeps winning. Candidates
    default to (1, current count); the original count is restored at the end. Every step does the same work,
    so results do not depend on the choice (up to float reduction order)."""
    original = torch.get_num_threads()
    candidates = list(dict.fromkeys(candidates or (1, original)))
    it = iter(items)
    if len(candidates) < 2:
        yield from it
        return
    winner, run = None, exploit_steps
    try:
        while True:
            best, best_seconds = candidates[0], math.inf
            for n in candidates:
                torch.set_num_threads(n)
                samples: list[float] = []
                for _ in range(probe_steps):
                    item = next(it, _END)
                    if item is _END:
                        return
                    start = time.perf_counter()
                    yield item
                    samples.append(time.perf_counter() - start)
                    if samples[-1] > 2 * best_seconds:
                        break
                if statistics.median(samples) < best_seconds:
                    best, best_seconds = n, statistics.median(samples)
            run = min(2 * run, max_exploit_steps) if best == winner else exploit_steps
            winner = best
            torch.set_num_threads(best)
            for _ in range(run):
                item = next(it, _END)
                if item is _END:
                    return
                yield item
    finally:
        torch.set_num_threads(original)


_END = object()


@contextlib.contextmanager
def fastest_threads(probe: Callable[[], object], candidates: Sequence[int] | None = None,
                    repeats: int = 2) -> Iterator[int]:
    """Run the block with the intra-op thread count under which ``probe()`` is fastest; yields that count and
    restores the original afterwards.

    For short jobs made of many small parallel regions (evaluation: feature passes, KID's kernel matrices),
    where a wrong choice on a busy machine costs 3-25x (KID of 10,000 samples: 0.5 s on one thread, 6-13 s on two
    while another process held a core). Candidates default to (1, current count), cheapest first; one warm-up
    call, then up to ``repeats`` timed calls each, a candidate being dropped as soon as one call takes over twice
    the best time so far (a congested count costs one slow call, not several)."""
    original = torch.get_num_threads()
    candidates = list(dict.fromkeys(candidates or (1, original)))
    best, best_seconds = original, math.inf
    if len(candidates) > 1:
        torch.set_num_threads(candidates[0])
        probe()  # warm-up: first-call allocations and kernel selection
        for n in candidates:
            torch.set_num_threads(n)
            for _ in range(repeats):
                seconds = _timed(probe)
                if seconds < best_seconds:
                    best, best_seconds = n, seconds
                elif seconds > 2 * best_seconds:
                    break
    torch.set_num_threads(best)
    try:
        yield best
    finally:
        torch.set_num_threads(original)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
