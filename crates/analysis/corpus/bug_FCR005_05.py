class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents


def add(a: Money, b: Money) -> None:
    print(a + b)  # expect: FCR005
