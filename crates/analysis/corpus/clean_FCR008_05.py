def names(rows: list[str]) -> str:
    return ", ".join(rows)
