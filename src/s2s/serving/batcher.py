"""Request batching: the lines of concurrent requests with the same key (model and decode options) are decoded together."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Callable, Hashable


@dataclass
class Job:
    lines: list[str]
    future: asyncio.Future
    arrived: float  # loop.time() when submitted


@dataclass
class BatchStats:
    requests: int = 0  # requests decoded (or failed in decoding)
    lines: int = 0
    decode_calls: int = 0


@dataclass
class Batcher:
    """One worker loop takes the oldest waiting request, waits until `max_wait_s` after its arrival for more requests
    with the same key (or until `max_batch_lines` lines are waiting), and decodes all of their lines with one call of
    `decode(key, lines)` in a worker thread; each request gets back its own slice of the results, in order.

    While a batch decodes, new requests queue up, so under load the next batch is gathered without waiting. With
    `enabled=False` every request is decoded on its own (one decode call per request), for comparison.
    """

    decode: Callable[[Hashable, list[str]], list]  # runs in the worker thread; returns one result per line
    max_wait_s: float = 0.005
    max_batch_lines: int = 64
    enabled: bool = True
    stats: BatchStats = field(default_factory=BatchStats)

    def __post_init__(self):
        self.waiting: dict[Hashable, list[Job]] = {}  # by key, oldest first; dict order is the keys' turn
        self.arrival = asyncio.Event()

    async def submit(self, key: Hashable, lines: list[str]) -> list:
        """The results of `lines` (one per line), once their batch is decoded; decode's exception if it raised."""
        loop = asyncio.get_running_loop()
        job = Job(lines, loop.create_future(), loop.time())
        self.waiting.setdefault(key, []).append(job)
        self.arrival.set()
        return await job.future

    async def run(self) -> None:
        """The worker loop; run it as a task for as long as requests are served."""
        loop = asyncio.get_running_loop()
        while True:
            await self.arrival.wait()
            self.arrival.clear()
            if not self.waiting:
                continue
            key = next(iter(self.waiting))
            deadline = self.waiting[key][0].arrived + self.max_wait_s
            while self.enabled and self._lines(key) < self.max_batch_lines and (left := deadline - loop.time()) > 0:
                try:
                    await asyncio.wait_for(self.arrival.wait(), left)
                except asyncio.TimeoutError:
                    break
                self.arrival.clear()
            jobs = self._take(key)
            if self.waiting:
                self.arrival.set()  # others are still waiting: go round again without sleeping
            await self._decode(key, jobs)

    def _lines(self, key) -> int:
        return sum(len(job.lines) for job in self.waiting[key])

    def _take(self, key) -> list[Job]:
        """The oldest jobs of `key` up to max_batch_lines lines (at least one job); the rest wait for the next turn."""
        queue = self.waiting.pop(key)
        taken = [queue.pop(0)]
        lines = len(taken[0].lines)
        while self.enabled and queue and lines + len(queue[0].lines) <= self.max_batch_lines:
            lines += len(queue[0].lines)
            taken.append(queue.pop(0))
        if queue:
            self.waiting[key] = queue  # goes to the back of the keys' turn
        return taken

    async def _decode(self, key, jobs: list[Job]) -> None:
        lines = [line for job in jobs for line in job.lines]
        self.stats.requests += len(jobs)
        self.stats.lines += len(lines)
        self.stats.decode_calls += 1
        try:
            results = await asyncio.to_thread(self.decode, key, lines)
        except Exception as error:  # a decoding failure fails this batch's requests only
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(error)
            return
        start = 0
        for job in jobs:
            if not job.future.done():  # done: the client went away (its request was cancelled)
                job.future.set_result(results[start : start + len(job.lines)])
            start += len(job.lines)
