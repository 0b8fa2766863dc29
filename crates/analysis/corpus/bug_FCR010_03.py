def remember(key: str, seen: set[str] = set()) -> bool:  # expect: FCR010
    new = key not in seen
    seen.add(key)
    return new
