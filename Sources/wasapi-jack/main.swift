print("wasapi-jack")
