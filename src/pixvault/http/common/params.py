"""Query parameters a route does not know are refused, naming the parameter, instead of being
ignored: `?tag=x` on a list that has no tag filter must not quietly return everything."""

from collections.abc import Callable

from fastapi import Depends, Request

from pixvault.domain.errors import InvalidInput


def known_params(*names: str) -> Callable[[Request], None]:
    allowed = frozenset(names)

    def check(request: Request) -> None:
        for name in request.query_params:
            if name not in allowed:
                raise InvalidInput(
                    f"Unknown query parameter {name!r}; this endpoint takes: "
                    f"{', '.join(sorted(allowed)) or 'none'}",
                    param=name,
                )

    return Depends(check)
