def is_even(n: int) -> bool:
    return "yes" if n % 2 == 0 else "no"  # expect: FCR008
