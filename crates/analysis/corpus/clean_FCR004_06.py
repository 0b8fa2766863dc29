class Shape:
    def area(self) -> float:
        return 0.0


class Square(Shape):
    def __init__(self, side: float) -> None:
        self.side = side

    def area(self) -> float:
        return self.side * self.side


def total_area(shapes: list[Shape]) -> float:
    return sum(s.area() for s in shapes)


def describe(shape: Shape) -> str:
    return f"area {shape.area()}"


print(describe(Square(2.0)))
