def fail(reason: str) -> None:
    print("failing")
    raise ValueError(reason)
