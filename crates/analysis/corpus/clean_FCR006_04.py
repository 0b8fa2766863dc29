from typing import Optional


class Node:
    def __init__(self, value: int) -> None:
        self.value = value


def value_of(node: Optional[Node]) -> int:
    if node is None:
        return 0
    return node.value
