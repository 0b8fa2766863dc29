def add_all(items: list[int], extra: list[int]) -> list[int]:
    items.add(extra)  # expect: FCR006
    return items
