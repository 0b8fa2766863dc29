def squares(n: int) -> list[int]:
    values = [i * i for i in range(n)]
    print(len(values))
    return values
