class Cache:
    def __init__(self, store: dict[str, str] = dict()) -> None:  # expect: FCR010
        self.store = store
