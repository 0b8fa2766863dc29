def last(items: list[str]) -> str:
    item = ""
    for item in items:
        pass
    return item
