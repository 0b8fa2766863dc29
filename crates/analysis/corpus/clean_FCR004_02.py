import math


def hypotenuse(a: float, b: float) -> float:
    return math.sqrt(a * a + b * b)


print(hypotenuse(3, 4))
