def read(path: str) -> str:
    with open(path) as handle:  # expect: FCR014
        return path
