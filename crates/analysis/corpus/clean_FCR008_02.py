from typing import Optional


def find(names: list[str], wanted: str) -> Optional[int]:
    for i, name in enumerate(names):
        if name == wanted:
            return i
    return None
