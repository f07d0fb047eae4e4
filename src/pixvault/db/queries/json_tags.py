"""`TagLike(tags_column, pattern)`: true when some element of a JSON array of strings is
LIKE the (lower-case, `\\`-escaped) pattern, case-insensitively. Compiled per dialect, since
SQLite and PostgreSQL unnest JSON arrays differently; matching elements (not the JSON text)
means `[`, quotes and escaped characters never match by accident."""

from typing import Any

from sqlalchemy import Boolean
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement


class TagLike(ColumnElement[bool]):
    type = Boolean()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], pattern: ColumnElement[Any]):
        self.column = column
        self.pattern = pattern


@compiles(TagLike, "sqlite")
def _sqlite(element: TagLike, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    pattern = compiler.process(element.pattern, **kw)
    return (
        f"EXISTS (SELECT 1 FROM json_each({column}) "
        f"WHERE lower(json_each.value) LIKE {pattern} ESCAPE '\\')"
    )


@compiles(TagLike, "postgresql")
def _postgresql(element: TagLike, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    pattern = compiler.process(element.pattern, **kw)
    return (
        f"EXISTS (SELECT 1 FROM json_array_elements_text({column}) AS tag(value) "
        f"WHERE lower(tag.value) LIKE {pattern} ESCAPE '\\')"
    )
