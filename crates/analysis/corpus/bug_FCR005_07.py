def banner(title: str, width: float) -> str:
    return title * width  # expect: FCR005
