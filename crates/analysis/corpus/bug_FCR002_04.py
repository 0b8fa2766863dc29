def find(names: list[str], wanted: str) -> int:
    for index, name in enumerate(names):
        if name == wanted:
            position = index
            break
    return position  # expect: FCR002
