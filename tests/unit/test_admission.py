"""The admission lane on its own: slots, the line, its bounds, hand-over and withdrawal."""

import asyncio

import pytest

from pixvault.domain.errors import Overloaded
from pixvault.services.admission import Answered, Lane


async def test_requests_within_the_limit_start_at_once():
    lane = Lane("t", limit=2, queue=0, max_wait=1)
    assert lane.join() is None
    assert lane.join() is None
    assert lane.in_flight == 2


async def test_past_the_limit_and_the_line_it_is_overloaded_at_once():
    lane = Lane("t", limit=1, queue=1, max_wait=5)
    assert lane.join() is None
    waiting = lane.join()
    assert waiting is not None
    with pytest.raises(Overloaded) as refused:
        lane.join()
    assert refused.value.retry_after == 5
    waiting.cancel()


async def test_a_freed_slot_goes_to_the_first_in_line():
    lane = Lane("t", limit=1, queue=4, max_wait=5)
    assert lane.join() is None
    first, second = lane.join(), lane.join()
    lane.leave()
    await asyncio.sleep(0)
    assert first.done() and not second.done()
    assert lane.in_flight == 1  # handed over, not released
    lane.leave()
    assert second.done()
    lane.leave()
    assert lane.in_flight == 0


async def test_a_request_that_waits_too_long_is_overloaded():
    lane = Lane("t", limit=1, queue=4, max_wait=0.05)
    assert lane.join() is None
    ticket = lane.join()
    with pytest.raises(Overloaded):
        await ticket
    assert lane.waiting == 0
    lane.leave()
    assert lane.in_flight == 0


async def test_a_withdrawn_request_leaves_the_line_or_passes_its_slot_on():
    lane = Lane("t", limit=1, queue=4, max_wait=5)
    assert lane.join() is None
    gone, next_one = lane.join(), lane.join()
    lane.withdraw(gone)
    assert lane.waiting == 1
    lane.leave()
    assert next_one.done()
    lane.withdraw(next_one)  # it had the slot: the slot is free again
    assert lane.in_flight == 0


def test_answered_remembers_the_most_recent_urls():
    answered = Answered(size=2)
    for url in (1, 2, 3):
        answered.add(url)
    assert 1 not in answered
    assert 2 in answered and 3 in answered


async def test_a_standing_line_waits_no_longer_than_the_interval():
    lane = Lane("t", limit=1, queue=8, max_wait=5)
    assert lane.join() is None
    first = lane.join()  # the line forms: a burst may wait the full five seconds
    await asyncio.sleep(0.15)
    later = lane.join()  # the line has stood for 150 ms: this one waits 100 ms at most
    with pytest.raises(Overloaded):
        await asyncio.wait_for(later, 2)
    assert not first.done()
    first.cancel()
