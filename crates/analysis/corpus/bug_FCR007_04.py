def first(items: list[str]) -> str:
    return items(0)  # expect: FCR007
