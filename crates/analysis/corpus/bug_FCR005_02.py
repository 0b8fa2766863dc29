from typing import Optional


def bump(x: Optional[int]) -> int:
    return x + 1  # expect: FCR005
