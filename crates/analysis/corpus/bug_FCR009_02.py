def fail(reason: str) -> None:
    raise ValueError(reason)
    print("unreachable")  # expect: FCR009
