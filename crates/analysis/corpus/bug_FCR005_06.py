def ratio(done: int, text: str) -> float:
    return done / text  # expect: FCR005
