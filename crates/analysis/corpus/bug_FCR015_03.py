def close(handle: object) -> None:
    try:
        print(handle)
    except:  # expect: FCR015
        print("could not close")
