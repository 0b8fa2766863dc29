def close(handle: object) -> None:
    try:
        print(handle)
    except:
        print("could not close")
        raise
