class Cache:
    def __init__(self, store: dict[str, str] | None = None) -> None:
        self.store = store if store is not None else {}
