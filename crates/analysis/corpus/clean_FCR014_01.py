def compute(items: list[int]) -> int:
    result = sum(items)
    return result
