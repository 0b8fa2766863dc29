def check(x: int) -> bool:
    return x > 0
    print("checked")  # expect: FCR009
