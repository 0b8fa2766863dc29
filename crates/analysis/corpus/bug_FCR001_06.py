def squares(n: int) -> list[int]:
    values = [i * i for i in range(n)]
    print(i)  # expect: FCR001
    return values
