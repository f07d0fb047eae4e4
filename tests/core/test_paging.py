"""Offset pages (newest first, with totals) and keyset pages (positions: "older" pages newest
first, "newer" pages oldest first), under every filter."""

import pytest

from pixvault.domain.errors import InvalidInput
from pixvault.domain.paging import ImageFilter, Keyset
from pixvault.services.library import pending_flow
from tests.core.support import put


async def uploads(core, project, count: int, **fields) -> list:
    """Ids of `count` new images, oldest first."""
    return [(await put(core, project, **fields)).id for _ in range(count)]


async def walk(core, project, only=ImageFilter(), *, limit: int) -> list[list]:
    """Every keyset page from the newest item on, as lists of ids, checking each page's
    `has_more` and `next` on the way."""
    pages = []
    start = Keyset()
    while True:
        page = await core.library.page(project, only, limit=limit, start=start)
        pages.append([i.id for i in page.items])
        assert len(pages) < 50, "keyset walk does not end"
        if not page.has_more:
            assert page.next is None
            return pages
        assert len(page.items) == limit
        assert page.next == Keyset(page.items[-1].id, "older")
        start = page.next


async def test_offset_pages_report_total_and_has_more(core, project):
    ids = await uploads(core, project, 5)
    newest_first = ids[::-1]
    page = await core.library.list(project, limit=2, offset=1)
    assert [i.id for i in page.items] == newest_first[1:3]
    assert (page.total, page.limit, page.offset, page.has_more) == (5, 2, 1, True)
    last = await core.library.list(project, limit=2, offset=4)
    assert [i.id for i in last.items] == newest_first[4:]
    assert last.has_more is False
    exact = await core.library.list(project, limit=5)
    assert [i.id for i in exact.items] == newest_first
    assert exact.has_more is False
    past = await core.library.list(project, limit=2, offset=10)
    assert (past.items, past.total, past.has_more) == ([], 5, False)


async def test_offset_pages_default_to_twenty(core, project):
    await uploads(core, project, 21)
    page = await core.library.list(project)
    assert (len(page.items), page.limit, page.total, page.has_more) == (20, 20, 21, True)


async def test_offset_page_bounds(core, project):
    cases = [(0, 0, "limit"), (101, 0, "limit"), (-1, 0, "limit"), (10, -1, "offset")]
    for limit, offset, param in cases:
        with pytest.raises(InvalidInput) as raised:
            await core.library.list(project, limit=limit, offset=offset)
        assert raised.value.param == param


async def test_offset_page_limits_at_the_bounds_are_accepted(core, project):
    await uploads(core, project, 2)
    assert len((await core.library.list(project, limit=1)).items) == 1
    assert len((await core.library.list(project, limit=100)).items) == 2


async def test_keyset_page_bounds(core, project):
    for limit in [0, 101, -5]:
        with pytest.raises(InvalidInput) as raised:
            await core.library.page(project, limit=limit)
        assert raised.value.param == "limit"
    assert (await core.library.page(project, limit=100)).items == []


async def test_keyset_page_custom_maximum(core, project):
    await uploads(core, project, 3)
    with pytest.raises(InvalidInput):
        await core.library.page(project, limit=3, max_limit=2)
    assert len((await core.library.page(project, limit=2, max_limit=2)).items) == 2


async def test_unknown_source_is_refused(core, project):
    for bad in ["stolen", "UPLOADED"]:
        with pytest.raises(InvalidInput) as raised:
            await core.library.page(project, ImageFilter(source=bad))
        assert raised.value.param == "source"
        with pytest.raises(InvalidInput):
            await core.library.list(project, ImageFilter(source=bad))


async def test_keyset_walk_has_no_repeats_or_gaps(core, project):
    ids = await uploads(core, project, 25)
    pages = await walk(core, project, limit=10)
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [i for p in pages for i in p] == ids[::-1]


async def test_keyset_walk_ending_on_a_full_page(core, project):
    ids = await uploads(core, project, 20)
    pages = await walk(core, project, limit=10)
    assert [len(p) for p in pages] == [10, 10]
    assert [i for p in pages for i in p] == ids[::-1]


async def test_empty_keyset_page(core, project):
    page = await core.library.page(project)
    assert (page.items, page.has_more, page.next) == ([], False, None)


async def test_older_page_from_the_oldest_item_is_empty(core, project):
    ids = await uploads(core, project, 3)
    page = await core.library.page(project, start=Keyset(ids[0], "older"))
    assert (page.items, page.has_more, page.next) == ([], False, None)


async def test_newer_pages_hold_the_items_just_newer_than_the_position(core, project):
    # KeysetPage: items come in the order read, so "newer" pages are oldest first.
    ids = await uploads(core, project, 25)
    newer = await core.library.page(project, limit=5, start=Keyset(ids[10], "newer"))
    assert [i.id for i in newer.items] == ids[11:16]
    assert newer.has_more is True
    assert newer.direction == "newer"
    assert newer.next == Keyset(ids[15], "newer")

    # Exactly `limit` newer items left: has_more is false and there is no next page.
    exact = await core.library.page(project, limit=6, start=Keyset(ids[18], "newer"))
    assert [i.id for i in exact.items] == ids[19:25]
    assert (exact.has_more, exact.next) == (False, None)

    nothing = await core.library.page(project, start=Keyset(ids[24], "newer"))
    assert (nothing.items, nothing.has_more, nothing.next) == ([], False, None)


async def test_a_newer_walk_reaches_the_newest_with_no_repeats_or_gaps(core, project):
    ids = await uploads(core, project, 25)
    seen, start = [], Keyset(ids[0], "newer")
    sizes = []
    while start is not None:
        page = await core.library.page(project, limit=10, start=start)
        seen += [i.id for i in page.items]
        sizes.append(len(page.items))
        assert page.has_more == (page.next is not None)
        start = page.next
        assert len(sizes) < 10
    assert sizes == [10, 10, 4]
    assert seen == ids[1:]


async def test_older_and_newer_pages_meet_at_the_position(core, project):
    ids = await uploads(core, project, 9)
    older = await core.library.page(project, limit=100, start=Keyset(ids[4], "older"))
    newer = await core.library.page(project, limit=100, start=Keyset(ids[4], "newer"))
    assert [i.id for i in older.items] == ids[3::-1]
    assert sorted(i.id for i in newer.items) == ids[5:]
    assert ids[4] not in {i.id for i in older.items + newer.items}


async def test_keyset_pages_filter_by_flow(core, project):
    flow = pending_flow()
    in_flow = []
    for n in range(12):
        in_flow.append((await put(core, project, flow_id=flow)).id)
        if n % 3 == 0:
            await put(core, project)
    pages = await walk(core, project, ImageFilter(flow_id=flow), limit=5)
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [i for p in pages for i in p] == in_flow[::-1]


async def test_keyset_pages_filter_by_source(core, project):
    generated = []
    for _ in range(7):
        await put(core, project)
        generated.append((await put(core, project, source="generated")).id)
    pages = await walk(core, project, ImageFilter(source="generated"), limit=3)
    assert [i for p in pages for i in p] == generated[::-1]
    uploaded = await walk(core, project, ImageFilter(source="uploaded"), limit=3)
    assert len([i for p in uploaded for i in p]) == 7
    assert not set(generated) & {i for p in uploaded for i in p}


async def test_keyset_pages_filter_by_alias(core, project):
    await uploads(core, project, 3)
    held = await put(core, project, alias="@hero")
    page = await core.library.page(project, ImageFilter(alias="@hero"))
    assert [i.id for i in page.items] == [held.id]


async def test_keyset_pages_include_deleted_only_when_asked(core, project):
    ids = await uploads(core, project, 12)
    deleted = set(ids[1::2])
    for image_id in deleted:
        await core.library.delete(project, image_id, soft=True)
    live = await walk(core, project, limit=4)
    assert [i for p in live for i in p] == [i for i in ids[::-1] if i not in deleted]
    everything = await walk(core, project, ImageFilter(include_deleted=True), limit=4)
    assert [i for p in everything for i in p] == ids[::-1]
    # A position may be a deleted image.
    after = await core.library.page(project, limit=2, start=Keyset(ids[5], "older"))
    assert [i.id for i in after.items] == [ids[4], ids[2]]


async def test_search_takes_percent_and_underscore_literally(core, project):
    names = ["100%_done.jpg", "1000_done.jpg", "a_b.jpg", "axb.jpg", "a%b.jpg", "c\\d.jpg"]
    ids = {name: (await put(core, project, filename=name)).id for name in names}

    async def found(term):
        page = await core.library.page(project, ImageFilter(search=term))
        listed = await core.library.list(project, ImageFilter(search=term))
        assert listed.total == len(page.items)
        return {name for name, i in ids.items() if i in {i.id for i in page.items}}

    assert await found("100%") == {"100%_done.jpg"}
    assert await found("%_") == {"100%_done.jpg"}
    assert await found("a_b") == {"a_b.jpg"}
    assert await found("a%b") == {"a%b.jpg"}
    assert await found("%") == {"100%_done.jpg", "a%b.jpg"}
    assert await found("_") == {"100%_done.jpg", "1000_done.jpg", "a_b.jpg"}
    assert await found("c\\d") == {"c\\d.jpg"}
    assert await found("c%d") == set()


async def test_search_matches_every_field_case_insensitively(core, project):
    by_name = await put(core, project, filename="Sunset-Beach.JPG")
    by_description = await put(core, project, description="A SUNSET over water")
    by_alias = await put(core, project, alias="@sunset-hero")
    by_tag = await put(core, project, tags=["Summer", "SunSet"])
    await put(core, project, filename="other.jpg", description="nothing", tags=["sun"])
    page = await core.library.page(project, ImageFilter(search="sUnSeT"))
    assert [i.id for i in page.items] == [by_tag.id, by_alias.id, by_description.id, by_name.id]
    listed = await core.library.list(project, ImageFilter(search="SUNSET"))
    assert listed.total == 4


async def test_search_pages_with_keysets(core, project):
    matching = []
    for n in range(9):
        matching.append((await put(core, project, filename=f"cat_{n}.jpg")).id)
        await put(core, project, filename=f"catx{n}.jpg")
    pages = await walk(core, project, ImageFilter(search="cat_"), limit=4)
    assert [len(p) for p in pages] == [4, 4, 1]
    assert [i for p in pages for i in p] == matching[::-1]


async def test_filters_combine(core, project):
    flow = pending_flow()
    wanted = await put(core, project, flow_id=flow, source="generated", filename="x_1.png")
    await put(core, project, flow_id=flow, source="uploaded", filename="x_1.png")
    await put(core, project, source="generated", filename="x_1.png")
    await put(core, project, flow_id=flow, source="generated", filename="y.png")
    only = ImageFilter(flow_id=flow, source="generated", search="x_1")
    assert [i.id for i in (await core.library.page(project, only)).items] == [wanted.id]
    assert (await core.library.list(project, only)).total == 1


async def test_pages_are_per_project(core, project, other_project):
    await uploads(core, other_project, 3)
    mine = await uploads(core, project, 2)
    assert [i.id for i in (await core.library.page(project)).items] == mine[::-1]
    assert (await core.library.list(project)).total == 2
