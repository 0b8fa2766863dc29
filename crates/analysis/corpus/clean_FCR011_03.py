def changed(value: int) -> bool:
    if value != 0:
        return True
    return False
