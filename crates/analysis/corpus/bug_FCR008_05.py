def names(rows: list[str]) -> list[str]:
    return ", ".join(rows)  # expect: FCR008
