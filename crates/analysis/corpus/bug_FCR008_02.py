def find(names: list[str], wanted: str) -> int:
    for i, name in enumerate(names):
        if name == wanted:
            return i
    return None  # expect: FCR008
