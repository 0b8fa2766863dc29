def total(values: list[int]) -> int:
    count = len(values)
    return count(values)  # expect: FCR007
