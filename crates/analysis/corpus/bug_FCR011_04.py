def empty(items: tuple[int, ...]) -> bool:
    return items is (1, 2)  # expect: FCR011
