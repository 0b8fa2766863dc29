def load(path: str) -> str:
    import io  # expect: FCR013
    with open(path) as handle:
        return handle.read()
