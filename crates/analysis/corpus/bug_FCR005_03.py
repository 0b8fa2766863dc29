def combine(a: list[int], b: list[int]) -> list[int]:
    return a - b  # expect: FCR005
