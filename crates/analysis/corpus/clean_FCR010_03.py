def remember(key: str, seen: frozenset[str] = frozenset()) -> bool:
    return key not in seen
