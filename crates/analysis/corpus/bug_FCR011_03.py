def changed(value: int) -> bool:
    if value is not 0:  # expect: FCR011
        return True
    return False
