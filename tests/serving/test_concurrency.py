"""A real server under concurrent clients: lines of concurrent requests are decoded together, each client gets its own
answers in order, and bad requests among them disturb no one."""

import asyncio

import httpx
import pytest

from s2s.serving.app import create_app

SENTENCES = ["forty two", "seven hundred one", "nine", "three thousand", "eleven", "sixty six", "one", "twelve"]
GOOD = [{"text": [SENTENCES[i], SENTENCES[(i + 3) % 8]], "beam": 2} for i in range(8)]
BAD = [{"text": "forty two"}, {"text": ["nine"], "beam": 99}, {"text": ["nine"], "model": "nope"}]


async def post_all(url: str, bodies: list[dict]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return await asyncio.gather(*(client.post("/translate", json=body) for body in bodies))


@pytest.mark.parametrize("batching", [True, False])
def test_concurrent_requests_are_batched_and_each_gets_its_own_answers(models, live_server, batching):
    # a long wait, so that the 8 concurrent requests surely meet in one batch even on a busy machine
    app = create_app(models, max_batch_wait_ms=1000, batching=batching)
    with live_server(app) as url:
        responses = asyncio.run(post_all(url, GOOD[:4] + BAD + GOOD[4:]))
        health = httpx.get(f"{url}/health").json()
    good, bad = responses[:4] + responses[7:], responses[4:7]
    translator = models["tiny"].translator
    for body, response in zip(GOOD, good):
        assert response.status_code == 200
        expected = translator.translate_detailed(body["text"], beam=2)
        answers = response.json()["translations"]
        assert [a["text"] for a in answers] == [t.text for t in expected]
        assert [a["score"] for a in answers] == pytest.approx([t.score for t in expected], abs=1e-5)
    assert [r.status_code for r in bad] == [422, 422, 404]
    assert (health["requests"], health["lines"], health["decode_calls"]) == (8, 16, 1 if batching else 8)
