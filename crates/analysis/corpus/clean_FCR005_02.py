from typing import Optional


def bump(x: Optional[int]) -> int:
    if x is None:
        return 1
    return x + 1
