def add_all(items: list[int], extra: list[int]) -> list[int]:
    items.extend(extra)
    return items
