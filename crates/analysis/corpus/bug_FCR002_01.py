def sign(n: int) -> str:
    if n > 0:
        label = "positive"
    elif n < 0:
        label = "negative"
    return label  # expect: FCR002
