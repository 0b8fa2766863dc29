class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __add__(self, other: "Money") -> "Money":
        return Money(self.cents + other.cents)


def add(a: Money, b: Money) -> None:
    print((a + b).cents)
