def last(items: list[str]) -> str:
    for item in items:
        pass
    return item  # expect: FCR002
