def count(n: int) -> int:
    return len(n)  # expect: FCR004
