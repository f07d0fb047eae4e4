"""`pixvault serve` limits glibc's malloc arenas, unless the operator chose a number."""

import os

from pixvault.imaging.malloc import limit_arenas


def test_defaults_to_two_arenas_for_this_process_and_its_workers(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_arenas() is True  # glibc: mallopt accepted the value
    assert os.environ["MALLOC_ARENA_MAX"] == "2"


def test_an_operators_choice_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas() is True
    assert os.environ["MALLOC_ARENA_MAX"] == "4"
