class Point:
    def __init__(self, x: float, y: float) -> None:
        self.x = x
        self.y = y


origin = Point(0.0)  # expect: FCR003
print(origin.x)
