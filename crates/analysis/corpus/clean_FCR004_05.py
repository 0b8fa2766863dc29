def count(n: int) -> int:
    return len(str(n))
