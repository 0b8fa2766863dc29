from typing import Optional


class Node:
    def __init__(self, value: int) -> None:
        self.value = value


def value_of(node: Optional[Node]) -> int:
    return node.value  # expect: FCR006
