def find(names: list[str], wanted: str) -> int:
    position = -1
    for index, name in enumerate(names):
        if name == wanted:
            position = index
            break
    return position
