def total(values: list[int]) -> int:
    count = len(values)
    return count
