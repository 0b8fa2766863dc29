def read(path: str) -> str:
    with open(path) as handle:
        return handle.read()
