def build(parts: dict[str, int]) -> int:
    return parts("a")  # expect: FCR007
