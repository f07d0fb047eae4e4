"""Search matches tag elements, not the JSON text that stores them; paths free on soft delete."""

import pytest
from sqlalchemy.exc import IntegrityError

from pixvault.domain.paging import ImageFilter
from tests.core.support import put, set_path


async def found(core, project, term: str) -> int:
    return (await core.library.list(project, ImageFilter(search=term))).total


async def test_tag_search_matches_elements_only(core, project):
    await put(core, project, filename="plain.jpg")
    await put(core, project, filename="tagged.jpg", tags=["alpha", "beta", "café"])
    for punctuation in ("[", "]", '"', '", "', 'a", "b'):
        assert await found(core, project, punctuation) == 0, punctuation
    assert await found(core, project, "ALP") == 1
    assert await found(core, project, "café") == 1
    assert await found(core, project, "a_b") == 0  # `_` is literal, not a wildcard


async def test_a_soft_deleted_image_frees_its_folder_path(core, project):
    first = await put(core, project, filename="a.jpg")
    second = await put(core, project, filename="a.jpg")
    await set_path(core, first, "p", "c", "ch", "a.jpg")
    with pytest.raises(IntegrityError):
        await set_path(core, second, "p", "c", "ch", "a.jpg")
    await core.library.delete(project, first.id, soft=True)
    await set_path(core, second, "p", "c", "ch", "a.jpg")
    assert (await core.library.find_by_path(project, ("p", "c", "ch"), "a.jpg")).id == second.id


async def test_visibility_filters_split_public_and_private(core, project):
    shown = await put(core, project, is_public=True)
    hidden = await put(core, project, is_public=False)
    public = await core.library.list(project, ImageFilter(public_only=True))
    private = await core.library.list(project, ImageFilter(private_only=True))
    assert [i.id for i in public.items] == [shown.id] and public.total == 1
    assert [i.id for i in private.items] == [hidden.id] and private.total == 1
