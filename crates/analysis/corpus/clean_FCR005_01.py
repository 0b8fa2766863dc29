def label(count: int) -> str:
    return "items: " + str(count)
