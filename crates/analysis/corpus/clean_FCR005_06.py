def ratio(done: int, text: str) -> float:
    return done / int(text)
