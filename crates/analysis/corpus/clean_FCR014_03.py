def retry(times: int) -> bool:
    attempts = 0
    for _ in range(times):
        attempts += 1
        if attempts > 2:
            return True
    return False
