def label(count: int) -> str:
    return "items: " + count  # expect: FCR005
