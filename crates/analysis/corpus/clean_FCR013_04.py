def load(path: str) -> str:
    import io
    with io.open(path) as handle:
        return handle.read()
