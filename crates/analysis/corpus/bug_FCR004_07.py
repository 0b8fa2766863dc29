def tag(name: str, weight: int = 1) -> str:
    return name * weight


print(tag("x", weight=2.5))  # expect: FCR004
