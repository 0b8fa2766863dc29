class Counter:
    def __init__(self) -> None:
        self.count = 0

    def bump(self) -> int:
        self.count = count + 1  # expect: FCR001
        return self.count
