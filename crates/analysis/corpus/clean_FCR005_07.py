def banner(title: str, width: float) -> str:
    return title * int(width)
