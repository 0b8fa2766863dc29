def check(x: int) -> bool:
    print("checked")
    return x > 0
