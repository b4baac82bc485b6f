"""The batcher: concurrent requests with one key share a decode call, each gets its own answers back in order."""

import asyncio
import time

import pytest

from s2s.serving.batcher import Batcher


class RecordingDecode:
    """A stand-in decoder: answers line -> line.upper() after `seconds`, and records the lines of every call."""

    def __init__(self, fail_on: str | None = None, seconds: float = 0.0):
        self.calls: list[tuple] = []
        self.fail_on, self.seconds = fail_on, seconds

    def __call__(self, key, lines):
        self.calls.append((key, list(lines)))
        time.sleep(self.seconds)
        if self.fail_on in lines:
            raise RuntimeError("decoder failed")
        return [line.upper() for line in lines]


async def submit_together(batcher: Batcher, requests: list[tuple]) -> list:
    """Submit (key, lines) requests at the same moment; their results (or exceptions) in request order."""
    worker = asyncio.create_task(batcher.run())
    try:
        return await asyncio.gather(*(batcher.submit(key, lines) for key, lines in requests), return_exceptions=True)
    finally:
        worker.cancel()


REQUESTS = [("k", ["a", "b"]), ("k", ["c"]), ("k", ["d", "e", "f"]), ("k", ["g"])]


def test_concurrent_requests_share_one_decode_call_and_get_their_own_lines_back():
    decode = RecordingDecode()
    batcher = Batcher(decode, max_wait_s=0.05)
    results = asyncio.run(submit_together(batcher, REQUESTS))
    assert results == [["A", "B"], ["C"], ["D", "E", "F"], ["G"]]
    assert decode.calls == [("k", ["a", "b", "c", "d", "e", "f", "g"])]
    assert (batcher.stats.requests, batcher.stats.lines, batcher.stats.decode_calls) == (4, 7, 1)


def test_requests_with_different_keys_are_never_decoded_together():
    decode = RecordingDecode()
    results = asyncio.run(submit_together(Batcher(decode, max_wait_s=0.05),
                                          [("beam1", ["a"]), ("beam5", ["b"]), ("beam1", ["c"]), ("beam5", ["d"])]))
    assert results == [["A"], ["B"], ["C"], ["D"]]
    assert decode.calls == [("beam1", ["a", "c"]), ("beam5", ["b", "d"])]


def test_a_batch_holds_at_most_max_batch_lines_and_never_splits_a_request():
    decode = RecordingDecode()
    results = asyncio.run(submit_together(Batcher(decode, max_wait_s=0.05, max_batch_lines=3), REQUESTS))
    assert results == [["A", "B"], ["C"], ["D", "E", "F"], ["G"]]
    assert [lines for _, lines in decode.calls] == [["a", "b", "c"], ["d", "e", "f"], ["g"]]


def test_a_request_larger_than_a_batch_is_decoded_alone():
    decode = RecordingDecode()
    results = asyncio.run(submit_together(Batcher(decode, max_wait_s=0.05, max_batch_lines=2), [("k", ["a", "b", "c"]), ("k", ["d"])]))
    assert results == [["A", "B", "C"], ["D"]]
    assert [lines for _, lines in decode.calls] == [["a", "b", "c"], ["d"]]


def test_without_batching_every_request_is_its_own_decode_call():
    decode = RecordingDecode()
    batcher = Batcher(decode, max_wait_s=0.05, enabled=False)
    results = asyncio.run(submit_together(batcher, REQUESTS))
    assert results == [["A", "B"], ["C"], ["D", "E", "F"], ["G"]]
    assert [lines for _, lines in decode.calls] == [["a", "b"], ["c"], ["d", "e", "f"], ["g"]]
    assert batcher.stats.decode_calls == 4


def test_a_failing_batch_fails_only_its_own_requests():
    decode = RecordingDecode(fail_on="boom")
    results = asyncio.run(submit_together(Batcher(decode, max_wait_s=0.05),
                                          [("bad", ["x"]), ("good", ["a"]), ("bad", ["boom"]), ("good", ["b"])]))
    assert [type(r).__name__ for r in results[::2]] == ["RuntimeError", "RuntimeError"]
    assert results[1::2] == [["A"], ["B"]]


def test_a_lone_request_waits_at_most_about_max_wait():
    async def timed():
        batcher = Batcher(RecordingDecode(), max_wait_s=0.1)
        worker = asyncio.create_task(batcher.run())
        start = asyncio.get_running_loop().time()
        result = await batcher.submit("k", ["a"])
        worker.cancel()
        return result, asyncio.get_running_loop().time() - start

    result, waited = asyncio.run(timed())
    assert result == ["A"]
    assert 0.1 <= waited < 2.0  # the wait is bounded; the upper bound leaves room for a busy machine


def test_a_request_cancelled_by_its_client_leaves_the_others_their_answers():
    async def scenario():
        decode = RecordingDecode()
        batcher = Batcher(decode, max_wait_s=0.05)
        worker = asyncio.create_task(batcher.run())
        gone = asyncio.create_task(batcher.submit("k", ["a"]))
        stays = asyncio.create_task(batcher.submit("k", ["b"]))
        await asyncio.sleep(0)
        gone.cancel()
        result = await stays
        worker.cancel()
        return result, decode.calls

    result, calls = asyncio.run(scenario())
    assert result == ["B"] and calls == [("k", ["a", "b"])]


@pytest.mark.parametrize("enabled", [True, False])
def test_requests_arriving_during_a_decode_form_the_next_batch(enabled):
    """Under load the next batch is whatever queued up while the last one decoded (with batching on)."""
    async def scenario():
        decode = RecordingDecode(seconds=0.1)
        batcher = Batcher(decode, max_wait_s=0.0, enabled=enabled)
        worker = asyncio.create_task(batcher.run())
        first = asyncio.create_task(batcher.submit("k", ["a"]))
        await asyncio.sleep(0.03)  # "a" is decoding now
        later = [asyncio.create_task(batcher.submit("k", [line])) for line in "bcd"]
        results = [await first] + [await task for task in later]
        worker.cancel()
        return results, [lines for _, lines in decode.calls]

    results, calls = asyncio.run(scenario())
    assert results == [["A"], ["B"], ["C"], ["D"]]
    assert calls == ([["a"], ["b", "c", "d"]] if enabled else [["a"], ["b"], ["c"], ["d"]])
